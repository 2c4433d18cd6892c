namespace Zoetrope.Runtime.KernelMath;

/// <summary>
/// Receives the storage type and codec for a float dtype (see <see cref="FloatTypes.Visit"/>):
/// the one place a kernel launcher turns a runtime dtype into a kernel instantiation.
/// </summary>
internal interface IFloatTypeVisitor
{
    /// <summary>Called with the storage type and codec of the dtype.</summary>
    void Visit<T, TCodec>()
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>;
}
