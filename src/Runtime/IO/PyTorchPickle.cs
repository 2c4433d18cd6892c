namespace Zoetrope.Runtime.IO;

/// <summary>A storage class or <c>torch.UntypedStorage</c> named by a persistent id (Element null for untyped: bytes).</summary>
internal sealed record TorchStorageType(string Name, PyTorchDTypes.Info? Element);

/// <summary>A <c>torch.&lt;dtype&gt;</c> global (the dtype argument of <c>_rebuild_tensor_v3</c>).</summary>
internal sealed record TorchDTypeValue(PyTorchDTypes.Info Info);

/// <summary>A storage a persistent id refers to: the record <c>data/&lt;key&gt;</c> and its declared size in bytes.</summary>
internal sealed record TorchStorageRef(string Key, TorchStorageType Type, string Record, long ByteLength, long RecordLength);

/// <summary>A tensor as a rebuild call describes it; checked against its storage once its key is known.</summary>
internal sealed record TorchTensorRef(TorchStorageRef Storage, PyTorchDTypes.Info Element, long StorageOffset, long[] Size, long[] Stride, long PickleOffset);

/// <summary>
/// The allow-list of a PyTorch state dict's <c>data.pkl</c>: <c>collections.OrderedDict</c>, the
/// tensor and parameter rebuild functions of <c>torch._utils</c>, the storage classes, the dtype
/// globals and <c>torch.Size</c>. Each "call" builds a plain value here; any other global is
/// refused by name and offset before anything else happens (so <c>builtins.eval</c>,
/// <c>os.system</c>, <c>torch.storage._load_from_bytes</c> or any numpy reconstructor never get a chance).
/// </summary>
internal sealed class PyTorchPickle(string file, string pickleRecord, string prefix, IReadOnlyDictionary<string, long> records) : IPickleHost
{
    private const string Utils = "torch._utils";
    private readonly Dictionary<string, TorchStorageRef> _storages = new(StringComparer.Ordinal);

    private ZoetropeFormatException Fail(long offset, string message) => PickleMachine.Error(file, pickleRecord, offset, message);

    public object Global(string module, string name, long offset)
    {
        switch (module, name)
        {
            case ("collections", "OrderedDict"):
            case (Utils, "_rebuild_tensor"):
            case (Utils, "_rebuild_tensor_v2"):
            case (Utils, "_rebuild_tensor_v3"):
            case (Utils, "_rebuild_parameter"):
            case (Utils, "_rebuild_parameter_with_state"):
            case ("torch", "Size"):
                return new PickleGlobal(module, name);
            case ("torch", "UntypedStorage"):
                return new TorchStorageType(name, null);
        }
        if (module == "torch" && PyTorchDTypes.TryStorage(name, out var s))
        {
            return new TorchStorageType(name, s);
        }
        if (module == "torch" && PyTorchDTypes.TryDType(name, out var d))
        {
            return new TorchDTypeValue(d);
        }
        throw Fail(offset, $"global '{module}.{name}' is not on the allow-list of a state dict (collections.OrderedDict, torch._utils tensor/parameter rebuilds, torch storage classes and dtypes, torch.Size); nothing in the file was run");
    }

    public object Call(object callable, object[] args, long offset)
    {
        if (callable is not PickleGlobal g)
        {
            throw Fail(offset, $"a call of {PickleMachine.Describe(callable)}: only the allowed globals build values");
        }
        switch (g.Module, g.Name)
        {
            case ("collections", "OrderedDict"):
                if (args.Length != 0)
                {
                    throw Fail(offset, $"collections.OrderedDict with {args.Length} arguments; a pickled one has none (its items follow)");
                }
                return new PickleDict();
            case ("torch", "Size"):
                if (args is not [PickleTuple or PickleList])
                {
                    throw Fail(offset, "torch.Size takes one tuple of ints");
                }
                return new PickleTuple(Ints(args[0], "torch.Size", offset));
            case (Utils, "_rebuild_tensor"):
                Arity(g, args, 4, 4, offset);
                return Tensor(args, typedDType: null, offset);
            case (Utils, "_rebuild_tensor_v2"):
                // (storage, offset, size, stride, requires_grad, backward_hooks[, metadata])
                Arity(g, args, 6, 7, offset);
                return Tensor(args, typedDType: null, offset);
            case (Utils, "_rebuild_tensor_v3"):
                // (untyped storage, offset, size, stride, requires_grad, backward_hooks, dtype[, metadata])
                Arity(g, args, 7, 8, offset);
                if (args[6] is not TorchDTypeValue dt)
                {
                    throw Fail(offset, $"_rebuild_tensor_v3's dtype argument is {PickleMachine.Describe(args[6])}, not a torch dtype");
                }
                return Tensor(args, dt.Info, offset);
            case (Utils, "_rebuild_parameter"):
            case (Utils, "_rebuild_parameter_with_state"):
                // (tensor, requires_grad, backward_hooks[, state]): a Parameter is its tensor here.
                Arity(g, args, 3, 4, offset);
                return args[0] as TorchTensorRef ?? throw Fail(offset, $"{g.Name} of {PickleMachine.Describe(args[0])}, not a tensor");
            default:
                throw Fail(offset, $"{g.FullName} cannot be called");
        }
    }

    public object Build(object target, object state, long offset) => target switch
    {
        // An OrderedDict's state is its attributes (a state dict's _metadata: versions per
        // module), and a tensor's is Python attributes: neither changes the tensors.
        PickleDict or TorchTensorRef => target,
        _ => throw Fail(offset, $"BUILD on {PickleMachine.Describe(target)}"),
    };

    public object PersistentLoad(object pid, long offset)
    {
        if (pid is not PickleTuple { Items: ["storage", TorchStorageType type, var keyObj, string, var numelObj] })
        {
            throw Fail(offset, $"persistent id {PickleMachine.Describe(pid)} is not ('storage', storage type, key, location, size)");
        }
        string key = keyObj switch
        {
            string s => s,
            long l => l.ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => throw Fail(offset, $"storage key is {PickleMachine.Describe(keyObj)}, not a string"),
        };
        if (numelObj is not long numel || numel < 0)
        {
            throw Fail(offset, $"storage '{key}' has size {PickleMachine.Describe(numelObj)}, not a non-negative int");
        }
        int elementSize = type.Element?.Size ?? 1;
        if (numel > long.MaxValue / elementSize)
        {
            throw Fail(offset, $"storage '{key}' of {numel} elements overflows 64 bits");
        }
        string record = $"{prefix}/data/{key}";
        if (!records.TryGetValue(record, out long recordLength))
        {
            throw Fail(offset, $"storage '{key}' has no record {record} in the archive");
        }
        var storage = new TorchStorageRef(key, type, record, numel * elementSize, recordLength);
        if (_storages.TryGetValue(key, out var seen))
        {
            if (seen.Type != type || seen.ByteLength != storage.ByteLength)
            {
                throw Fail(offset, $"storage '{key}' is named as {seen.Type.Name} of {seen.ByteLength} bytes and as {type.Name} of {storage.ByteLength} bytes");
            }
            return seen;
        }
        _storages[key] = storage;
        return storage;
    }

    private void Arity(PickleGlobal g, object[] args, int min, int max, long offset)
    {
        if (args.Length < min || args.Length > max)
        {
            throw Fail(offset, $"{g.FullName} with {args.Length} arguments; it takes {(min == max ? $"{min}" : $"{min} or {max}")}");
        }
    }

    private TorchTensorRef Tensor(object[] args, PyTorchDTypes.Info? typedDType, long offset)
    {
        if (args[0] is not TorchStorageRef storage)
        {
            throw Fail(offset, $"a tensor rebuild's storage is {PickleMachine.Describe(args[0])}, not a persistent storage");
        }
        PyTorchDTypes.Info element;
        if (typedDType is { } v3)
        {
            if (storage.Type.Element is not null)
            {
                throw Fail(offset, $"_rebuild_tensor_v3 over a {storage.Type.Name}; it takes an untyped storage");
            }
            element = v3;
        }
        else
        {
            element = storage.Type.Element ?? throw Fail(offset, $"a typed tensor rebuild over an untyped storage '{storage.Key}' (no dtype)");
        }
        if (args[1] is not long storageOffset || storageOffset < 0)
        {
            throw Fail(offset, $"storage offset {PickleMachine.Describe(args[1])} is not a non-negative int");
        }
        var size = Ints(args[2], "size", offset);
        var stride = Ints(args[3], "stride", offset);
        if (size.Length != stride.Length)
        {
            throw Fail(offset, $"size has {size.Length} dims, stride {stride.Length}");
        }
        return new TorchTensorRef(storage, element, storageOffset, [.. size.Cast<long>()], [.. stride.Cast<long>()], offset);
    }

    private object[] Ints(object o, string what, long offset)
    {
        var items = o switch
        {
            PickleTuple t => t.Items,
            PickleList l => l.Items.ToArray(),
            _ => throw Fail(offset, $"{what} is {PickleMachine.Describe(o)}, not a tuple of ints"),
        };
        if (items.Any(i => i is not long))
        {
            throw Fail(offset, $"{what} holds {PickleMachine.Describe(items.First(i => i is not long))}, not only ints");
        }
        return items;
    }
}
