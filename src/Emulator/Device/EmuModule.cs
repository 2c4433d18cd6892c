using Zoetrope.Emulator.Ptx;

namespace Zoetrope.Emulator.Device;

/// <summary>A loaded PTX module: its kernels by name and its module-scope global variables in device memory.</summary>
internal sealed class EmuModule
{
    private readonly Dictionary<string, EmuFunction> _functions = new(StringComparer.Ordinal);

    internal EmuModule(EmuDevice device, PtxModule ptx, string origin)
    {
        Device = device;
        Ptx = ptx;
        Origin = origin;
        // Module-scope .global and .const variables live in device memory for the module's lifetime.
        var addresses = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (var v in ptx.Globals)
        {
            ulong addr = device.Memory.Allocate(Math.Max(1, v.Size));
            if (addr == 0)
            {
                throw new EmulatorException(EmuError.OutOfMemory, $"{origin}: no device memory for the {v.Size}-byte variable {v.Name}");
            }
            if (v.Init is { } init)
            {
                unsafe
                {
                    init.AsSpan().CopyTo(new Span<byte>((void*)addr, init.Length));
                }
            }
            addresses[v.Name] = addr;
        }
        foreach (var f in ptx.Functions.Values)
        {
            foreach (var ins in f.Code)
            {
                foreach (var op in ins.Ops)
                {
                    PatchGlobal(op, addresses);
                }
            }
        }
        foreach (var f in ptx.Functions.Values)
        {
            if (f.IsEntry)
            {
                _functions[f.Name] = new EmuFunction(this, f);
            }
        }
    }

    /// <summary>The device it is loaded on.</summary>
    public EmuDevice Device { get; }

    /// <summary>Where the PTX came from (a file, a fat binary, a JIT call), for messages.</summary>
    public string Origin { get; }

    /// <summary>The kernels (.entry) by mangled name.</summary>
    public IReadOnlyDictionary<string, EmuFunction> Functions => _functions;

    internal PtxModule Ptx { get; }

    /// <summary>The kernel named <paramref name="name"/>.</summary>
    /// <exception cref="EmulatorException">No such kernel (NotFound).</exception>
    public EmuFunction GetFunction(string name) =>
        _functions.TryGetValue(name, out var f)
            ? f
            : throw new EmulatorException(EmuError.NotFound, $"module {Origin} has no kernel named '{name}'");

    /// <inheritdoc />
    public override string ToString() => Origin;

    private static void PatchGlobal(Operand op, Dictionary<string, ulong> addresses)
    {
        if (op.SymbolSpace is "global" or "const" && op.Name is { } n && addresses.TryGetValue(n, out var a))
        {
            op.Imm += a;
        }
        foreach (var e in op.Elems)
        {
            PatchGlobal(e, addresses);
        }
    }
}
