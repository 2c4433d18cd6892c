namespace Zoetrope.Emulator.Device;

/// <summary>One launch's geometry: grid, block, dynamic shared bytes (the stream is synchronous and not needed).</summary>
internal readonly record struct LaunchConfig(Dim3 Grid, Dim3 Block, int DynamicSharedBytes);
