namespace Zoetrope.Runtime.Ops;

/// <summary>
/// Notes an op implementation leaves about the choices it made (which kernel variant, which
/// path a dispatch table picked, and why), so a tool can show them: <c>zoe run-op</c> prints
/// the notes of the run. Collected per async flow while a <see cref="Scope"/> is open.
/// </summary>
internal static class OpNotes
{
    private static readonly AsyncLocal<List<string>?> Current = new();

    /// <summary>Starts collecting; dispose to stop. Nested scopes share the outer list.</summary>
    public static Scope Collect()
    {
        bool owner = Current.Value is null;
        Current.Value ??= [];
        return new Scope(Current.Value, owner);
    }

    /// <summary>Records a note if someone is collecting.</summary>
    public static void Record(string note)
    {
        var list = Current.Value;
        if (list is not null && !list.Contains(note))
        {
            list.Add(note);
        }
    }

    /// <summary>
    /// Records which hand-written kernel the native dispatch just ran for <paramref name="op"/>
    /// (zt_last_kernel, which it clears: e.g. the sm_90a wgmma kernel on Hopper, the mma.sync one
    /// elsewhere). Nothing is recorded when the op launched none, or by a shim older than the export.
    /// </summary>
    public static void RecordNativeKernel(string op)
    {
        // zt_last_kernel returns and clears: "" when this op launched nothing (a zero extent).
        if (Native.NativeShim.HasExport("zt_last_kernel") && Native.ZtNative.LastKernel() is { Length: > 0 } kernel)
        {
            Record($"{op}: kernel {kernel}");
        }
    }

    /// <summary>An open collection.</summary>
    public sealed class Scope : IDisposable
    {
        private readonly bool _owner;

        internal Scope(List<string> notes, bool owner)
        {
            Notes = notes;
            _owner = owner;
        }

        /// <summary>The notes so far.</summary>
        public IReadOnlyList<string> Notes { get; }

        /// <inheritdoc />
        public void Dispose()
        {
            if (_owner)
            {
                Current.Value = null;
            }
        }
    }
}
