namespace Zoetrope.Engine;

/// <summary>
/// A stream cannot go on as configured (e.g. the absolute RoPE policy would pass its 1024-position
/// table). Raised before the block starts, so the session stays consistent and can be read.
/// </summary>
public sealed class ZoetropeStreamException(string message) : InvalidOperationException(message);
