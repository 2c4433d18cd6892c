using System.CommandLine;
using System.Globalization;
using Zoetrope.Engine;
using Zoetrope.Engine.Decode;
using Zoetrope.Engine.Video;
using Zoetrope.Runtime;

namespace Zoetrope.Cli.Commands;

/// <summary>
/// Decoding a stream into video, for the commands that do (stream): <c>--decode wan|tiny</c>,
/// <c>--decoder-weights FILE</c>, <c>--video out.mp4|out.y4m|frames/</c>, <c>--contact-sheet
/// PATH</c>, <c>--fps N</c>. The options are made and checked here, before any work. A video (or a
/// contact sheet) asked for without <c>--decode</c> is decoded with <c>tiny</c>: a video needs a
/// decoder, TAEHV is the one made to keep up with a stream, and Wan's VAE (many times its cost) is
/// the quality choice a user names; the header says which ran.
/// </summary>
public sealed class DecodeArgs
{
    private readonly Option<string?> _decode = new("--decode") { Description = $"decode each block into video as it lands: {VideoDecoders.Choices} (wan: Wan2.1's VAE, the published decoder; tiny: TAEHV, the real-time preview one); alone, decodes and times only" };
    private readonly Option<string?> _weights = new("--decoder-weights") { Description = "the decoder's weights (.safetensors or .pt/.pth; default: seeded random weights, which decode to noise); needs --decode" };
    private readonly Option<string?> _video = new("--video") { Description = "write the decoded video: out.mp4 (ffmpeg; out.y4m beside it without ffmpeg), out.y4m, or a folder frames/ of PNG frames (default decoder: tiny)" };
    private readonly Option<string?> _sheet = new("--contact-sheet") { Description = "write the first frame of every block as a PNG grid here (default with --video: beside it, out.contact.png)" };
    private readonly Option<int?> _fps = new("--fps") { Description = $"frame rate of the .mp4/.y4m (default {VideoSinkOptions.WanFps}, Wan's); needs --video" };

    private DecodeArgs()
    {
    }

    /// <summary>Adds the options to <paramref name="command"/>; read them back with <see cref="Read"/>.</summary>
    public static DecodeArgs AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var args = new DecodeArgs();
        command.Options.Add(args._decode);
        command.Options.Add(args._weights);
        command.Options.Add(args._video);
        command.Options.Add(args._sheet);
        command.Options.Add(args._fps);
        return args;
    }

    /// <summary>The values given.</summary>
    public Given Read(ParseResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new Given(result.GetValue(_decode), result.GetValue(_weights), result.GetValue(_video), result.GetValue(_sheet), result.GetValue(_fps));
    }

    /// <summary>The decoding options as given on the command line.</summary>
    public sealed record Given(string? Decode, string? DecoderWeights, string? Video, string? ContactSheet, int? Fps)
    {
        /// <summary>
        /// Checks them, before any work: the decoder's name, its weights file, the video path's
        /// format and folder, the contact sheet's, the frame rate and the options that need another.
        /// Null when nothing is to be decoded.
        /// </summary>
        /// <exception cref="ArgumentException">Names the option and the value.</exception>
        public Plan? Check()
        {
            if (DecoderWeights is not null && Decode is null)
            {
                throw new ArgumentException($"--decoder-weights {DecoderWeights}: given without --decode {VideoDecoders.Choices}; say which decoder the weights are for");
            }
            if (Fps is int fps)
            {
                if (Video is null)
                {
                    throw new ArgumentException($"--fps {fps}: given without --video; it is the frame rate of the video file");
                }
                CliArgs.AtLeast(fps, 1, "--fps");
            }
            if (Decode is null && Video is null && ContactSheet is null)
            {
                return null;
            }
            DecoderKind kind;
            try
            {
                kind = Decode is null ? DecoderKind.Tiny : VideoDecoders.Parse(Decode);
            }
            catch (ArgumentException)
            {
                throw new ArgumentException($"--decode {Decode}: unknown; expected {VideoDecoders.Choices}");
            }
            string? weights = DecoderWeights is null ? null : CliArgs.InputFile(DecoderWeights, "--decoder-weights");
            VideoFormat? format = null;
            if (Video is not null)
            {
                try
                {
                    format = VideoSink.FormatOf(Video);
                }
                catch (ArgumentException e)
                {
                    throw new ArgumentException($"--video {Video}: {e.Message[(e.Message.IndexOf(": ", StringComparison.Ordinal) + 2)..]}");
                }
                if (format == VideoFormat.PngFrames)
                {
                    if (Fps is int f)
                    {
                        throw new ArgumentException($"--fps {f}: --video {Video} writes PNG frames, which have no frame rate (give a .mp4 or .y4m)");
                    }
                    CliArgs.OutputDirectory(Video, "--video");
                }
                else
                {
                    CliArgs.OutputFile(Video, "--video");
                }
            }
            string? sheet = ContactSheet ?? (Video is null ? null : VideoSink.ContactSheetBeside(Video));
            if (ContactSheet is not null)
            {
                if (!ContactSheet.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
                {
                    throw new ArgumentException($"--contact-sheet {ContactSheet}: the sheet is a PNG; give a .png path");
                }
                CliArgs.OutputFile(ContactSheet, "--contact-sheet");
            }
            return new Plan(kind, Decode is null, weights, Video, format, sheet, Fps ?? VideoSinkOptions.WanFps);
        }
    }

    /// <summary>What to decode with and where the frames go, checked.</summary>
    /// <param name="Kind">The decoder.</param>
    /// <param name="Implied">True when --decode was not given (a video asked for implies tiny).</param>
    /// <param name="WeightsPath">The decoder's weights, or null for seeded random ones.</param>
    /// <param name="Video">The video path, or null to decode and time only.</param>
    /// <param name="Format">The video's format, or null without one.</param>
    /// <param name="ContactSheet">The contact sheet's path, or null for none.</param>
    /// <param name="Fps">The video's frame rate.</param>
    public sealed record Plan(DecoderKind Kind, bool Implied, string? WeightsPath, string? Video, VideoFormat? Format, string? ContactSheet, int Fps)
    {
        /// <summary>
        /// Opens the sink (before any work: a frames folder holding old frames is refused here, and
        /// an MP4 without ffmpeg says on stderr that it becomes a Y4M); null without --video.
        /// </summary>
        /// <exception cref="ArgumentException">The sink refused the path.</exception>
        public VideoSink? OpenSink()
        {
            if (Video is null)
            {
                return null;
            }
            var options = new VideoSinkOptions { Fps = Fps, ContactSheet = ContactSheet, Notice = m => Console.Error.WriteLine($"warning: {m}") };
            try
            {
                return VideoSink.Open(Video, options);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"--video {e.Message["video ".Length..]}");
            }
        }

        /// <summary>A contact sheet of its own when there is one but no video (a video's sink writes its own).</summary>
        internal ContactSheet? SheetWithoutVideo() => Video is null && ContactSheet is not null ? new ContactSheet() : null;

        /// <summary>Opens the decoder on <paramref name="backend"/> for the model's latents.</summary>
        public IVideoDecoder OpenDecoder(Backend backend, DiTConfig dit, DType dtype, ulong seed) =>
            VideoDecoders.Open(Kind, backend, dit, dtype, WeightsPath, (int)(seed & int.MaxValue));

        /// <summary>
        /// The decoder's memory for the preflight: the decoder <see cref="OpenDecoder"/> makes, in
        /// <paramref name="dtype"/> on <paramref name="backend"/>, decoding blocks of <paramref name="blockFrames"/>
        /// latent frames (a weights file of another width than the model's default decoder is not read for it).
        /// </summary>
        internal DecoderMemory Memory(DiTConfig dit, DType dtype, int blockFrames, BackendKind backend) =>
            DecoderMemory.For(Kind, dit, dtype, blockFrames, backend);

        /// <summary>One line for the header: which decoder, which weights, where the frames go.</summary>
        public string Describe() =>
            $"decoder {VideoDecoders.Name(Kind)}{(Implied ? " (--video without --decode: tiny, the real-time preview decoder; --decode wan for the VAE)" : "")}, " +
            $"{(WeightsPath is null ? "seeded random weights (frames show noise)" : WeightsPath)}; " +
            (Video is null ? "decode and time only" : string.Create(CultureInfo.InvariantCulture, $"video {Video} ({Format switch { VideoFormat.PngFrames => "PNG frames", VideoFormat.Y4m => $"Y4M at {Fps} fps", _ => $"MP4 at {Fps} fps" }})")) +
            (ContactSheet is null ? "" : $", contact sheet {ContactSheet}");
    }
}
