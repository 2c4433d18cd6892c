// Reading and writing BenchReport files. Reading is strict: an unknown schema version, a missing
// or null required field, or malformed JSON is a ZoetropeFormatException naming the file, the
// byte offset and the JSON path, so a truncated or hand-edited result cannot slip into a comparison.
// Writing uses the relaxed encoder: a results file is read and diffed by people, and the default
// encoder's HTML-safe escapes turned "0.1.0+387f2af" into "0.1.0\u002B387f2af" and a device's "<"
// into "\u003C" (still valid JSON, and the strict reader reads both forms).
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Zoetrope.Runtime.Results;

/// <summary>JSON I/O of <see cref="BenchReport"/>.</summary>
internal static class BenchReportJson
{
    /// <summary>The format this build writes and reads.</summary>
    public const string SchemaVersion = "zoetrope.bench/1";

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        RespectRequiredConstructorParameters = true,
        RespectNullableAnnotations = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        TypeInfoResolver = BenchReportJsonContext.Default,
    };

    /// <summary>The report as JSON text.</summary>
    public static string Serialize(BenchReport report) => JsonSerializer.Serialize(report, Options);

    /// <summary>Writes <paramref name="report"/> to <paramref name="path"/> (creating its folder).</summary>
    public static void Write(string path, BenchReport report)
    {
        ArgumentNullException.ThrowIfNull(path);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }
        // Write beside it, then rename: a reader (or a run killed at its time limit while saving
        // the rows so far) never sees half a file.
        string tmp = path + ".tmp";
        File.WriteAllText(tmp, Serialize(report));
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Reads and validates a report file.</summary>
    /// <exception cref="ZoetropeFormatException">Malformed JSON, a missing field, or another schema version.</exception>
    public static BenchReport Read(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>Parses and validates report text; <paramref name="label"/> names it in errors.</summary>
    /// <exception cref="ZoetropeFormatException">Malformed JSON, a missing field, or another schema version.</exception>
    public static BenchReport Parse(string json, string label)
    {
        ArgumentNullException.ThrowIfNull(json);
        BenchReport? report;
        try
        {
            report = JsonSerializer.Deserialize<BenchReport>(json, Options);
        }
        catch (JsonException e)
        {
            long offset = Offset(json, e.LineNumber ?? 0, e.BytePositionInLine ?? 0);
            throw new ZoetropeFormatException(label, offset, $"not a {SchemaVersion} result at {e.Path ?? "$"}: {FirstLine(e.Message)}", e);
        }
        if (report is null)
        {
            throw new ZoetropeFormatException(label, 0, "the file holds null, not a result");
        }
        // Files written before the commit was split from the version hold "0.1.0+<sha>": read as the sha.
        report = report with { Commit = Commit(report.Commit) };
        if (report.Schema != SchemaVersion)
        {
            throw new ZoetropeFormatException(label, 0, $"schema '{report.Schema}' is not one this build reads ({SchemaVersion})");
        }
        for (int i = 0; i < report.Cases.Count; i++)
        {
            var c = report.Cases[i];
            if (c.Iterations != c.SamplesMs.Count || c.Iterations == 0)
            {
                throw new ZoetropeFormatException(label, 0, $"$.cases[{i}] ({c.Op} {c.Shape}): iterations {c.Iterations} but {c.SamplesMs.Count} samples");
            }
        }
        return report;
    }

    /// <summary>
    /// The commit in <paramref name="text"/>: an assembly's informational version "0.1.0+&lt;sha&gt;"
    /// gives its hash, shortened to 7 digits as <c>git rev-parse --short</c> prints it; any
    /// other text (a hash, "unknown", a ZOETROPE_COMMIT value) is kept as it is.
    /// </summary>
    public static string Commit(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int plus = text.LastIndexOf('+');
        if (plus < 0)
        {
            return text;
        }
        string sha = text[(plus + 1)..];
        return sha.Length >= 7 && sha.All(char.IsAsciiHexDigit) ? sha[..7].ToLowerInvariant() : text;
    }

    // JsonException gives (line, byte in line); turn it into a byte offset of the UTF-8 text.
    private static long Offset(string text, long line, long byteInLine)
    {
        long offset = 0;
        int at = 0;
        for (long l = 0; l < line && at >= 0; l++)
        {
            int next = text.IndexOf('\n', at);
            if (next < 0)
            {
                break;
            }
            offset += Encoding.UTF8.GetByteCount(text.AsSpan(at, next + 1 - at));
            at = next + 1;
        }
        return offset + byteInLine;
    }

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();
}
