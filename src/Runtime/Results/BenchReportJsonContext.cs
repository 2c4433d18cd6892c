using System.Text.Json.Serialization;

namespace Zoetrope.Runtime.Results;

/// <summary>
/// Source-generated JSON metadata for the results format: the trimmed, self-contained `zoe` of the
/// device kit has reflection-based serialization disabled.
/// </summary>
[JsonSerializable(typeof(BenchReport))]
internal sealed partial class BenchReportJsonContext : JsonSerializerContext;
