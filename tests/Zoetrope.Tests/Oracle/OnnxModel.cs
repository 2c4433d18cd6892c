using Zoetrope.Runtime;

namespace Zoetrope.Tests.Oracle;

/// <summary>
/// Builds ONNX models in memory (field numbers from onnx/onnx.proto): a graph of nodes with
/// attributes, typed inputs and outputs of static shape, and raw-data initializers. Test-only:
/// it exists so the reference backend can be compared with ONNX Runtime, an implementation
/// nobody here wrote.
/// </summary>
internal sealed class OnnxModel
{
    private readonly List<ProtoWriter> _nodes = [];
    private readonly List<ProtoWriter> _inputs = [];
    private readonly List<ProtoWriter> _outputs = [];
    private readonly List<ProtoWriter> _initializers = [];
    private readonly Dictionary<string, int> _opsets = new() { [string.Empty] = 21 };

    /// <summary>ONNX TensorProto.DataType INT64 (position ids).</summary>
    public const int Int64 = 7;

    /// <summary>ONNX TensorProto.DataType of each dtype.</summary>
    public static int ElemType(DType t) => t switch
    {
        DType.F32 => 1,
        DType.U8 => 2,
        DType.I8 => 3,
        DType.I32 => 6,
        DType.F16 => 10,
        DType.F64 => 11,
        DType.BF16 => 16,
        DType.F8E4M3 => 17,
        DType.F8E5M2 => 19,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "no ONNX type"),
    };

    public OnnxModel Opset(string domain, int version)
    {
        _opsets[domain] = version;
        return this;
    }

    public OnnxModel Input(string name, DType dtype, params long[] shape) => Input(name, ElemType(dtype), shape);

    /// <summary>An input of a raw ONNX element type (e.g. <see cref="Int64"/>).</summary>
    public OnnxModel Input(string name, int elemType, params long[] shape)
    {
        _inputs.Add(ValueInfo(name, elemType, shape));
        return this;
    }

    public OnnxModel Output(string name, DType dtype, params long[] shape)
    {
        _outputs.Add(ValueInfo(name, ElemType(dtype), shape));
        return this;
    }

    /// <summary>A constant tensor from <paramref name="values"/> converted to <paramref name="dtype"/>.</summary>
    public OnnxModel Initializer(string name, DType dtype, long[] shape, double[] values)
    {
        var raw = new byte[values.Length * dtype.Size()];
        ElementConvert.FromDoubles(dtype, values, raw);
        var t = new ProtoWriter();
        foreach (var d in shape)
        {
            t.Varint(1, d);
        }
        t.Varint(2, ElemType(dtype)).String(8, name).Bytes(9, raw);
        _initializers.Add(t);
        return this;
    }

    /// <summary>A node; attributes are (name, value) with value an int, long, float, string, int[]/long[] or float[].</summary>
    public OnnxModel Node(string opType, string[] inputs, string[] outputs, string domain = "", params (string Name, object Value)[] attributes)
    {
        var n = new ProtoWriter();
        foreach (var i in inputs)
        {
            n.String(1, i);
        }
        foreach (var o in outputs)
        {
            n.String(2, o);
        }
        n.String(3, $"{opType}_{_nodes.Count}").String(4, opType);
        foreach (var (name, value) in attributes)
        {
            n.Message(5, Attribute(name, value));
        }
        if (domain.Length > 0)
        {
            n.String(7, domain);
        }
        _nodes.Add(n);
        return this;
    }

    public byte[] ToBytes()
    {
        var graph = new ProtoWriter();
        foreach (var n in _nodes)
        {
            graph.Message(1, n);
        }
        graph.String(2, "zoetrope_oracle");
        foreach (var i in _initializers)
        {
            graph.Message(5, i);
        }
        foreach (var i in _inputs)
        {
            graph.Message(11, i);
        }
        foreach (var o in _outputs)
        {
            graph.Message(12, o);
        }
        var model = new ProtoWriter().Varint(1, 10).String(2, "zoetrope-tests");
        model.Message(7, graph);
        foreach (var (domain, version) in _opsets)
        {
            var opset = new ProtoWriter();
            if (domain.Length > 0)
            {
                opset.String(1, domain);
            }
            opset.Varint(2, version);
            model.Message(8, opset);
        }
        return model.ToArray();
    }

    private static ProtoWriter ValueInfo(string name, int elemType, long[] shape)
    {
        var dims = new ProtoWriter();
        foreach (var d in shape)
        {
            dims.Message(1, new ProtoWriter().Varint(1, d));
        }
        var tensorType = new ProtoWriter().Varint(1, elemType).Message(2, dims);
        return new ProtoWriter().String(1, name).Message(2, new ProtoWriter().Message(1, tensorType));
    }

    private static ProtoWriter Attribute(string name, object value)
    {
        var a = new ProtoWriter().String(1, name);
        switch (value)
        {
            case float f:
                return a.Float(2, f).Varint(20, 1);
            case double d:
                return a.Float(2, (float)d).Varint(20, 1);
            case int i:
                return a.Varint(3, i).Varint(20, 2);
            case long l:
                return a.Varint(3, l).Varint(20, 2);
            case string s:
                return a.String(4, s).Varint(20, 3);
            case float[] fs:
                foreach (var f in fs)
                {
                    a.Float(7, f);
                }
                return a.Varint(20, 6);
            case long[] ls:
                foreach (var l in ls)
                {
                    a.Varint(8, l);
                }
                return a.Varint(20, 7);
            case int[] iss:
                foreach (var i in iss)
                {
                    a.Varint(8, i);
                }
                return a.Varint(20, 7);
            default:
                throw new ArgumentException($"attribute {name}: unsupported value type {value.GetType().Name}", nameof(value));
        }
    }
}
