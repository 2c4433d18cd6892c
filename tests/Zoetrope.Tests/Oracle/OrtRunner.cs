using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Oracle;

/// <summary>Runs an in-memory ONNX model on ONNX Runtime's CPU provider with named inputs given as doubles and a dtype.</summary>
internal static class OrtRunner
{
    /// <summary>A named input: raw little-endian bytes of an ONNX element type.</summary>
    public sealed record Input(string Name, int ElemType, long[] Shape, byte[] Raw)
    {
        /// <summary>An input of a Zoetrope dtype from doubles (rounded to it).</summary>
        public Input(string name, DType dtype, long[] shape, double[] values)
            : this(name, OnnxModel.ElemType(dtype), shape, Encode(dtype, values))
        {
        }

        /// <summary>An int64 input (ONNX position ids and the like: no Zoetrope dtype holds them).</summary>
        public static Input Int64(string name, long[] shape, long[] values) =>
            new(name, OnnxModel.Int64, shape, values.SelectMany(BitConverter.GetBytes).ToArray());

        private static byte[] Encode(DType dtype, double[] values)
        {
            var raw = new byte[values.Length * dtype.Size()];
            ElementConvert.FromDoubles(dtype, values, raw);
            return raw;
        }
    }

    public static Dictionary<string, (double[] Values, long[] Shape)> Run(byte[] model, IReadOnlyList<Input> inputs, params string[] outputs)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var session = new InferenceSession(model, options);
        var handles = new List<GCHandle>();
        var values = new List<OrtValue>();
        try
        {
            foreach (var i in inputs)
            {
                var h = GCHandle.Alloc(i.Raw, GCHandleType.Pinned);
                handles.Add(h);
                values.Add(OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, (TensorElementType)i.ElemType, i.Shape, h.AddrOfPinnedObject(), i.Raw.Length));
            }
            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, inputs.Select(i => i.Name).ToArray(), values, outputs);
            var map = new Dictionary<string, (double[], long[])>(StringComparer.Ordinal);
            for (int k = 0; k < outputs.Length; k++)
            {
                var r = results[k];
                var info = r.GetTensorTypeAndShape();
                var dtype = FromElementType(info.ElementDataType);
                var bytes = r.GetTensorMutableRawData().ToArray();
                var doubles = new double[bytes.Length / dtype.Size()];
                ElementConvert.ToDoubles(dtype, bytes, doubles);
                map[outputs[k]] = (doubles, info.Shape);
            }
            return map;
        }
        finally
        {
            foreach (var v in values)
            {
                v.Dispose();
            }
            foreach (var h in handles)
            {
                h.Free();
            }
        }
    }

    private static DType FromElementType(TensorElementType t) =>
        DTypes.All.First(d => OnnxModel.ElemType(d) == (int)t);
}
