using System.Reflection;
using System.Text.RegularExpressions;

namespace Zoetrope.Runtime.Ops;

/// <summary>
/// Declares a hand-written CUDA kernel an op's <c>cuda</c> method may launch, named as the native
/// library's <c>zt_last_kernel()</c> names it (<c>zoe run-op</c> prints the one that ran; <c>zoe info</c>
/// lists these per architecture). <see cref="Name"/> may hold placeholders in angle brackets
/// (<c>linear_sm90_ws_&lt;dtype&gt;</c>), each one name part. The declarations are checked, not
/// trusted: CudaKernelTests runs every declaring op on the emulated device and fails on a kernel
/// name that no declaration for that architecture or an older one matches.
/// </summary>
/// <param name="arch">The oldest architecture that takes the kernel: "sm_80" (and newer), "sm_90" (9.x only).</param>
/// <param name="name">The kernel's name, placeholders allowed.</param>
/// <param name="when">When the dispatch takes it, in a few words.</param>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
internal sealed class CudaKernelAttribute(string arch, string name, string when) : Attribute
{
    /// <summary>The oldest architecture that takes the kernel ("sm_80", "sm_90").</summary>
    public string Arch { get; } = arch;

    /// <summary>The name zt_last_kernel reports, with &lt;placeholders&gt;.</summary>
    public string Name { get; } = name;

    /// <summary>When the dispatch takes it.</summary>
    public string When { get; } = when;

    /// <summary>The compute capability as a number (80, 90).</summary>
    public int Sm => int.Parse(Arch.AsSpan("sm_".Length), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Whether <paramref name="kernel"/> is this declaration's name, each placeholder one name part.</summary>
    public bool Matches(string kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        string pattern = Regex.Replace(Regex.Escape(Name), "<[^>]+>", "[A-Za-z0-9]+");
        return Regex.IsMatch(kernel, "^" + pattern + "$", RegexOptions.CultureInvariant);
    }
}

/// <summary>The <see cref="CudaKernelAttribute"/> declarations of the ops' <c>cuda</c> methods.</summary>
internal static class CudaKernels
{
    /// <summary>What <paramref name="op"/>'s cuda method declares, oldest architecture first.</summary>
    public static IReadOnlyList<CudaKernelAttribute> Of(IOpInfo op)
    {
        ArgumentNullException.ThrowIfNull(op);
        return op.OpType.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
            .Where(m => m.GetCustomAttributes<RunsOnAttribute>().Any(r => r.Backends.Contains(BackendKind.Cuda)))
            .SelectMany(m => m.GetCustomAttributes<CudaKernelAttribute>())
            .OrderBy(k => k.Sm)
            .ToArray();
    }

    /// <summary>
    /// The declaration of <paramref name="op"/> that <paramref name="kernel"/> is, on a device of
    /// compute capability <paramref name="sm"/> (80, 89, 90): one for that architecture or an older
    /// one (a 9.x device falls back to the sm_80 kernels where the Hopper ones do not apply); null for none.
    /// </summary>
    public static CudaKernelAttribute? Find(IOpInfo op, string kernel, int sm) =>
        Of(op).FirstOrDefault(k => k.Sm <= sm && k.Matches(kernel));
}
