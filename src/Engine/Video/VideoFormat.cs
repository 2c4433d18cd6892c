namespace Zoetrope.Engine.Video;

/// <summary>What a <see cref="VideoSink"/> writes.</summary>
public enum VideoFormat
{
    /// <summary>H.264 (or MPEG-4 part 2) in MP4, encoded by ffmpeg; Y4M beside it when there is no ffmpeg.</summary>
    Mp4,
    /// <summary>YUV4MPEG2: raw 4:2:0, BT.601 limited range, no encoder needed.</summary>
    Y4m,
    /// <summary>A folder of PNG frames, frame_000000.png, frame_000001.png, ...</summary>
    PngFrames,
}
