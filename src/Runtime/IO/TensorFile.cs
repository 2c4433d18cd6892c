namespace Zoetrope.Runtime.IO;

/// <summary>One tensor a checkpoint holds, described the same way whatever the file format.</summary>
/// <param name="Name">Its key (for a PyTorch file, nested dict keys joined with '.').</param>
/// <param name="DTypeName">The dtype as the file names it (safetensors: BF16, I64...; PyTorch: bfloat16, int64...).</param>
/// <param name="DType">The matching dtype, or null when Zoetrope tensors hold no such values.</param>
/// <param name="Shape">Its shape.</param>
/// <param name="ByteLength">Bytes of data.</param>
public sealed record TensorFileEntry(string Name, string DTypeName, DType? DType, Shape Shape, long ByteLength);

/// <summary>A checkpoint of named tensors: a safetensors file or a PyTorch <c>.pt</c>/<c>.pth</c> archive.</summary>
public interface ITensorFile : IDisposable
{
    /// <summary>The file's path.</summary>
    string Path { get; }

    /// <summary>The tensor names, in file order.</summary>
    IReadOnlyList<string> Names { get; }

    /// <summary>True when a tensor named <paramref name="name"/> exists.</summary>
    bool Contains(string name);

    /// <summary>The tensor <paramref name="name"/>'s dtype, shape and size.</summary>
    /// <exception cref="ArgumentException">No such tensor; the message lists a few that exist.</exception>
    TensorFileEntry Entry(string name);

    /// <summary>An owned copy of the tensor in host memory.</summary>
    /// <exception cref="ZoetropeFormatException">Its dtype has no Zoetrope equivalent, or its data cannot be read.</exception>
    Tensor Load(string name);
}

/// <summary>Opens a checkpoint in whichever format it is.</summary>
public static class TensorFiles
{
    private static readonly string[] PyTorchExtensions = [".pt", ".pth", ".ckpt", ".bin"];

    /// <summary>The error of a tensor file asked for a name it lacks: the file, the name, and a few names it has.</summary>
    internal static ArgumentException NoSuchTensor(string path, string name, IReadOnlyCollection<string> names) =>
        new($"{path}: no tensor '{name}' (it has {names.Count}: {string.Join(", ", names.Take(8))}{(names.Count > 8 ? ", ..." : string.Empty)})", nameof(name));

    /// <summary>
    /// Opens <paramref name="path"/>: a zip archive (PyTorch's <c>torch.save</c> format since 1.6),
    /// or any file named <c>.pt</c>/<c>.pth</c>/<c>.ckpt</c>/<c>.bin</c>, as a <see cref="PyTorchFile"/>
    /// (which names what else it may be); everything else as safetensors.
    /// </summary>
    /// <exception cref="ZoetropeFormatException">The file is not valid in the format it was taken for.</exception>
    public static ITensorFile Open(string path)
    {
        bool pytorch = PyTorchExtensions.Contains(System.IO.Path.GetExtension(path), StringComparer.OrdinalIgnoreCase)
            || PyTorchFile.LooksLikeZip(path);
        return pytorch ? PyTorchFile.Open(path) : new SafeTensors(SafeTensorsFile.Open(path));
    }

    /// <summary>A safetensors file seen through <see cref="ITensorFile"/> (its own behaviour unchanged).</summary>
    private sealed class SafeTensors(SafeTensorsFile file) : ITensorFile
    {
        public string Path => file.Path;

        public IReadOnlyList<string> Names => file.Names;

        public bool Contains(string name) => file.Contains(name);

        public TensorFileEntry Entry(string name)
        {
            var e = file.Entry(name);
            return new TensorFileEntry(e.Name, e.DTypeName, e.DType, e.Shape, e.ByteLength);
        }

        public Tensor Load(string name) => file.Load(name);

        public void Dispose() => file.Dispose();
    }
}
