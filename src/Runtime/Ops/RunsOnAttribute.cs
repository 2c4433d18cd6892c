namespace Zoetrope.Runtime.Ops;

/// <summary>
/// Marks a static method of an op as its implementation on the given backends. Its signature is
/// <c>static void M(TBackend backend, TParams p, OpTensors t)</c> where TBackend is
/// <see cref="Backend"/> or a subclass (<see cref="IlgpuBackend"/>, <see cref="CudaBackend"/>).
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class RunsOnAttribute(params BackendKind[] backends) : Attribute
{
    /// <summary>The backends this method implements the op for.</summary>
    public IReadOnlyList<BackendKind> Backends { get; } = backends;
}
