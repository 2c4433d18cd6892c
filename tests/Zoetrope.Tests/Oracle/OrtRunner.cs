using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Oracle;

/// <summary>Runs an in-memory ONNX model on ONNX Runtime's CPU provider with named inputs given as doubles and a dtype.</summary>
internal static class OrtRunner
{
    public sealed record Input(string Name, DType DType, long[] Shape, double[] Values);

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
                var raw = new byte[i.Values.Length * i.DType.Size()];
                ElementConvert.FromDoubles(i.DType, i.Values, raw);
                var h = GCHandle.Alloc(raw, GCHandleType.Pinned);
                handles.Add(h);
                values.Add(OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, ElementType(i.DType), i.Shape, h.AddrOfPinnedObject(), raw.Length));
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

    private static TensorElementType ElementType(DType t) => (TensorElementType)OnnxModel.ElemType(t);

    private static DType FromElementType(TensorElementType t) =>
        DTypes.All.First(d => OnnxModel.ElemType(d) == (int)t);
}
