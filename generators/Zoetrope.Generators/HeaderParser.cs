using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;

namespace Zoetrope.Generators;

/// <summary>A parameter of an exported C function.</summary>
internal sealed record NativeParam(string CType, string Name);

/// <summary>A '@tensor name access dtype(d) shape(a, b)' line of a doc comment.</summary>
internal sealed record TensorAnnotation(string Name, string Access, string DType, EquatableArray<string> Shape, bool Optional);

/// <summary>An exported <c>ZT_API</c> function of a native header.</summary>
internal sealed record NativeFunction(
    string File,
    int Line,
    string Name,
    string ReturnType,
    EquatableArray<NativeParam> Params,
    EquatableArray<TensorAnnotation> Tensors,
    string Summary);

/// <summary>The outcome of parsing one header.</summary>
internal sealed record HeaderModel(string File, EquatableArray<NativeFunction> Functions, EquatableArray<string> Errors);

/// <summary>
/// Reads the exported prototypes of native/include/*.h. The grammar is deliberately small:
/// <c>ZT_API ret zt_name(type name, ...);</c>, optionally preceded by a <c>/** ... */</c> doc
/// comment whose first paragraph is the summary and whose <c>@tensor</c> lines describe every
/// pointer parameter: <c>@tensor x in|out|inout dtype(&lt;zt_dtype param or f32/i8/...&gt;) shape(&lt;int params or literals&gt;) [optional]</c>;
/// an optional tensor may be null (the wrapper then passes a null pointer).
/// </summary>
internal static class HeaderParser
{
    private static readonly Regex Declaration = new(
        @"(?:/\*\*(?<doc>(?:(?!\*/).)*)\*/\s*)?ZT_API\s+(?<ret>[A-Za-z_][\w\s\*]*?)\s*\b(?<name>zt_\w+)\s*\((?<params>[^)]*)\)\s*;",
        RegexOptions.Singleline | RegexOptions.CultureInvariant);

    private static readonly Regex TensorLine = new(
        @"@tensor\s+(?<name>\w+)\s+(?<access>in|out|inout)\s+dtype\((?<dtype>\w+)\)\s+shape\((?<shape>[^)]*)\)(?<optional>\s+optional)?",
        RegexOptions.CultureInvariant);

    public static HeaderModel Parse(string file, string text)
    {
        var functions = new List<NativeFunction>();
        var errors = new List<string>();
        foreach (Match m in Declaration.Matches(text))
        {
            int line = 1 + text.Take(m.Groups["name"].Index).Count(c => c == '\n');
            string name = m.Groups["name"].Value;
            string ret = Normalize(m.Groups["ret"].Value);
            var ps = new List<NativeParam>();
            string rawParams = m.Groups["params"].Value.Trim();
            if (rawParams.Length > 0 && rawParams != "void")
            {
                foreach (var p in rawParams.Split(','))
                {
                    var pm = Regex.Match(p.Trim(), @"^(?<type>.*?[\s\*])(?<name>\w+)$", RegexOptions.Singleline);
                    if (!pm.Success)
                    {
                        errors.Add($"{file}({line}): cannot read parameter '{p.Trim()}' of {name}");
                        continue;
                    }
                    ps.Add(new NativeParam(Normalize(pm.Groups["type"].Value), pm.Groups["name"].Value));
                }
            }
            string doc = m.Groups["doc"].Success ? m.Groups["doc"].Value : string.Empty;
            var docLines = doc.Split('\n').Select(l => l.Trim().TrimStart('*').Trim()).ToList();
            var tensors = new List<TensorAnnotation>();
            foreach (var l in docLines.Where(l => l.StartsWith("@tensor", StringComparison.Ordinal)))
            {
                var tm = TensorLine.Match(l);
                if (!tm.Success)
                {
                    errors.Add($"{file}({line}): {name}: malformed annotation '{l}' (expected '@tensor NAME in|out|inout dtype(D) shape(A, B)')");
                    continue;
                }
                var shape = tm.Groups["shape"].Value.Split(',').Select(s => s.Trim()).Where(s => s.Length > 0);
                tensors.Add(new TensorAnnotation(tm.Groups["name"].Value, tm.Groups["access"].Value, tm.Groups["dtype"].Value, new EquatableArray<string>(shape), tm.Groups["optional"].Success));
            }
            string summary = string.Join(" ", docLines.TakeWhile(l => l.Length > 0 && !l.StartsWith("@", StringComparison.Ordinal)));
            functions.Add(new NativeFunction(file, line, name, ret, new EquatableArray<NativeParam>(ps), new EquatableArray<TensorAnnotation>(tensors), summary));
        }
        return new HeaderModel(file, new EquatableArray<NativeFunction>(functions), new EquatableArray<string>(errors));
    }

    /// <summary>Collapses white space and binds '*' to the type: "const  void *" -> "const void*".</summary>
    private static string Normalize(string type)
    {
        var t = Regex.Replace(type.Trim(), @"\s+", " ");
        t = Regex.Replace(t, @"\s*\*", "*");
        return t;
    }
}
