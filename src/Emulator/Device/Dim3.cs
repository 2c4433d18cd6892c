namespace Zoetrope.Emulator.Device;

/// <summary>A CUDA grid or block extent.</summary>
internal readonly record struct Dim3(uint X, uint Y, uint Z)
{
    /// <summary>X * Y * Z.</summary>
    public long Count => (long)X * Y * Z;

    /// <inheritdoc />
    public override string ToString() => $"({X},{Y},{Z})";
}
