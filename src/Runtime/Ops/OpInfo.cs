namespace Zoetrope.Runtime.Ops;

/// <summary>
/// The registered form of an op with parameters <typeparamref name="TParams"/>: built by the
/// generator from the op class (one implementation slot per <see cref="BackendKind"/>, filled
/// from its <see cref="RunsOnAttribute"/> methods), never by hand. <see cref="Run"/> checks the
/// tensors against the signature, then dispatches through the slot table.
/// </summary>
public sealed class OpInfo<TParams> : IOpInfo
    where TParams : struct, IOpParams
{
    private readonly Func<TParams, OpSignature> _signature;
    private readonly Func<TParams, OpCost> _cost;
    private readonly Func<OpBinding, TParams> _bind;
    private readonly Func<TParams, OpAttributeValues> _attributesOf;
    private readonly Lazy<OpContract> _contract;
    private readonly OpImpl<TParams>?[] _impls;
    private readonly Lazy<OpCaseTable<TParams>> _cases;

    /// <summary>Called by generated code.</summary>
    public OpInfo(
        string name,
        string summary,
        Type opType,
        Func<TParams, OpSignature> signature,
        Func<TParams, OpCost> cost,
        Func<OpBinding, TParams> bind,
        OpAttributes attributes,
        Func<TParams, OpAttributeValues> attributesOf,
        OpImpl<TParams>?[] impls,
        Func<OpCaseTable<TParams>> cases,
        IReadOnlyList<KernelEntry> kernels)
    {
        if (impls.Length != BackendKinds.All.Count || impls[(int)BackendKind.Reference] is null)
        {
            throw new ArgumentException($"op '{name}': one slot per backend is required, the reference one filled", nameof(impls));
        }
        Name = name;
        Summary = summary;
        OpType = opType;
        _signature = signature;
        _cost = cost;
        _bind = bind;
        Attributes = attributes;
        _attributesOf = attributesOf;
        _contract = new Lazy<OpContract>(() => new OpContract(this));
        _impls = impls;
        _cases = new Lazy<OpCaseTable<TParams>>(cases);
        Kernels = kernels;
        Backends = BackendKinds.All.Where(k => impls[(int)k.ImplementationKind()] is not null).ToArray();
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public string Summary { get; }

    /// <inheritdoc />
    public Type OpType { get; }

    /// <inheritdoc />
    public IReadOnlyList<BackendKind> Backends { get; }

    /// <inheritdoc />
    public IReadOnlyList<KernelEntry> Kernels { get; }

    /// <inheritdoc />
    public OpAttributes Attributes { get; }

    /// <inheritdoc />
    public OpContract Contract => _contract.Value;

    /// <summary>The case table.</summary>
    public OpCaseTable<TParams> Table => _cases.Value;

    /// <inheritdoc />
    public BackendCaps Caps => Table.Caps;

    /// <inheritdoc />
    public ToleranceTable Tolerances => Table.Tolerances;

    /// <inheritdoc />
    public bool Supports(BackendKind kind) => _impls[(int)kind.ImplementationKind()] is not null;

    /// <summary>The signature for <paramref name="p"/>.</summary>
    public OpSignature Signature(TParams p) => _signature(p);

    /// <summary>The cost for <paramref name="p"/>.</summary>
    public OpCost Cost(TParams p) => _cost(p);

    /// <summary>Runs the op on <paramref name="backend"/> with the given tensors.</summary>
    /// <exception cref="NotSupportedException">No implementation on that backend.</exception>
    /// <exception cref="ArgumentException">A tensor does not match the signature.</exception>
    public void Run(Backend backend, TParams p, OpTensors tensors)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(tensors);
        var impl = _impls[(int)backend.Kind.ImplementationKind()]
            ?? throw new NotSupportedException(
                $"op '{Name}' has no {backend.Name} implementation (it runs on {string.Join(", ", Backends.Select(b => b.Label()))})");
        Validate(backend, Signature(p), tensors, widenOutputs: false);
        if (Profiler.Current is { } profiler && ReferenceEquals(profiler.Backend, backend))
        {
            using (profiler.Span(Name, _cost(p)))
            {
                impl(backend, p, tensors);
            }
            return;
        }
        impl(backend, p, tensors);
    }

    /// <inheritdoc />
    public IReadOnlyList<OpCaseInstance> Cases() =>
        Table.Cases.Select((c, i) => new OpCaseInstance(i, new Instance(this, c.Params), c.Use, Table.Tolerances)).ToArray();

    /// <inheritdoc />
    public OpInstance Bind(OpBinding binding)
    {
        ArgumentNullException.ThrowIfNull(binding);
        // Everything the contract can say is said before the op's own Bind runs, all at once.
        Contract.Check(binding.Inputs, binding.Attributes);
        var p = _bind(binding);
        var undeclared = binding.ReadAttributes.Where(a => Attributes.Find(a) is null).ToArray();
        if (undeclared.Length > 0)
        {
            // A bug in the op, not in the user's input: Bind read an attribute its contract does not list.
            throw new InvalidOperationException($"op '{Name}': Bind read undeclared attribute(s) {string.Join(", ", undeclared)}");
        }
        var instance = new Instance(this, p);
        var reads = instance.Signature.Reads.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        var unused = binding.Inputs.Keys.Where(n => !reads.Contains(n)).ToArray();
        var ignored = binding.Attributes.Keys.Where(a => !binding.ReadAttributes.Contains(a)).ToArray();
        if (unused.Length > 0 || ignored.Length > 0)
        {
            // Valid names that this configuration does not use would be silently ignored: say so.
            var what = unused.Select(n => $"input '{n}'").Concat(ignored.Select(a => $"attribute '{a}'"));
            throw new ArgumentException(
                $"op '{Name}' [{p.Label}] does not use {string.Join(", ", what)} (it reads {string.Join(", ", reads)})");
        }
        return instance;
    }

    /// <summary>The instance for <paramref name="p"/>.</summary>
    public OpInstance Instantiate(TParams p) => new Instance(this, p);

    private void Validate(Backend backend, OpSignature signature, OpTensors tensors, bool widenOutputs)
    {
        foreach (var spec in signature.Tensors)
        {
            if (!tensors.Contains(spec.Name))
            {
                throw new ArgumentException(
                    $"op '{Name}': tensor '{spec.Name}' ({spec.DType.Name()}{spec.Shape}) is missing", spec.Name);
            }
            var t = tensors[spec.Name];
            bool widened = widenOutputs && spec.Role == TensorRole.Output && spec.DType.IsFloat() && t.DType == DType.F64;
            if (t.DType != spec.DType && !widened)
            {
                throw new ArgumentException(
                    $"op '{Name}': tensor '{spec.Name}' expected dtype {spec.DType.Name()}, got {t.DType.Name()}", spec.Name);
            }
            if (t.Shape != spec.Shape)
            {
                throw new ArgumentException(
                    $"op '{Name}': tensor '{spec.Name}' expected shape {spec.Shape}, got {t.Shape}", spec.Name);
            }
            if (!ReferenceEquals(t.Backend, backend))
            {
                throw new ArgumentException(
                    $"op '{Name}': tensor '{spec.Name}' lives on {t.Backend.Name}, the op runs on {backend.Name}", spec.Name);
            }
        }
        foreach (var name in tensors.Names)
        {
            if (!signature.Tensors.Any(s => s.Name == name))
            {
                throw new ArgumentException(
                    $"op '{Name}' takes no tensor '{name}' (it takes {string.Join(", ", signature.Tensors.Select(s => s.Name))})", name);
            }
        }
    }

    private sealed class Instance(OpInfo<TParams> info, TParams p) : OpInstance
    {
        private OpSignature? _signature;

        public override IOpInfo Op => info;

        public override string Label => p.Label;

        public override OpSignature Signature => _signature ??= info.Signature(p);

        public override OpCost Cost => info.Cost(p);

        public override IReadOnlyList<KeyValuePair<string, string>> Attributes => info._attributesOf(p).Values;

        public override void Run(Backend backend, OpTensors tensors) => info.Run(backend, p, tensors);

        public override void RunReference(OpTensors hostTensors)
        {
            var host = Runtime.Backends.Host;
            info.Validate(host, Signature, hostTensors, widenOutputs: true);
            info._impls[(int)BackendKind.Reference]!(host, p, hostTensors);
        }
    }
}
