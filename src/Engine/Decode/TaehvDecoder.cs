namespace Zoetrope.Engine.Decode;

/// <summary>
/// TEMPORARY shell of the tiny TAEHV decoder, so the video branch compiles before the real decoder is merged;
/// the coordinator drops this file at merge in favour of the real one.
/// </summary>
public static class TaehvDecoder
{
    /// <summary>Opens the decoder (not merged on this branch).</summary>
    /// <exception cref="NotSupportedException">Always: the decoder is not merged yet.</exception>
    public static IVideoDecoder Open(Backend backend, DiTConfig dit, DType dtype, string? weightsPath, int seed) =>
        throw new NotSupportedException("decoder not merged yet");
}
