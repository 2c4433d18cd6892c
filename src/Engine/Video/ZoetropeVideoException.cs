namespace Zoetrope.Engine.Video;

/// <summary>
/// Writing video failed: ffmpeg exited with an error (the message carries the tail of its stderr)
/// or a decoder broke the frame contract. An <see cref="IOException"/>, so callers that already
/// handle failed writes handle it.
/// </summary>
public sealed class ZoetropeVideoException(string message) : IOException(message);
