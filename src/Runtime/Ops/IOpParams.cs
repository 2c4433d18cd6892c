namespace Zoetrope.Runtime.Ops;

/// <summary>The parameters that fix one instance of an op: dtypes, extents, attributes.</summary>
public interface IOpParams
{
    /// <summary>A short label for tables, e.g. <c>bf16 n=4097 a=2 b=-0.5</c>.</summary>
    string Label { get; }
}
