namespace Zoetrope.Runtime.Ops;

/// <summary>
/// One tensor of an op's contract, gathered over its case table: the dtypes the harness checks it
/// in, its ranks, whether every case has it, and a shape from a case.
/// </summary>
/// <param name="Name">The name it is passed under.</param>
/// <param name="Role">Input, output or in-out.</param>
/// <param name="DTypes">Every dtype it takes in the case table, in first-seen order.</param>
/// <param name="Ranks">Every rank it has in the case table.</param>
/// <param name="Optional">True when some cases leave it out.</param>
/// <param name="Example">Its shape in the first case that has it.</param>
public sealed record TensorContract(string Name, TensorRole Role, IReadOnlyList<DType> DTypes, IReadOnlyList<int> Ranks, bool Optional, Shape Example)
{
    /// <summary>The dtypes as <c>f32|f16|bf16</c>.</summary>
    public string DTypeText => string.Join("|", DTypes.Select(t => t.Name()));
}

/// <summary>
/// What an op takes and makes, for users (<c>zoe ops</c>) and for binding user inputs
/// (<c>zoe run-op</c>): its tensors as the case table uses them and its declared attributes.
/// Nothing here is written by hand: the tensors come from the signatures of the op's own cases,
/// the attributes from the objects its <c>Bind</c> reads.
/// </summary>
public sealed class OpContract
{
    /// <summary>Builds the contract of <paramref name="op"/> from its cases.</summary>
    public OpContract(IOpInfo op)
    {
        ArgumentNullException.ThrowIfNull(op);
        Op = op.Name;
        Attributes = op.Attributes;
        var cases = op.Cases();
        var order = new List<string>();
        var byName = new Dictionary<string, (TensorRole Role, List<DType> DTypes, SortedSet<int> Ranks, int Count, Shape Example)>(StringComparer.Ordinal);
        foreach (var c in cases)
        {
            foreach (var spec in c.Instance.Signature.Tensors)
            {
                if (!byName.TryGetValue(spec.Name, out var e))
                {
                    order.Add(spec.Name);
                    e = (spec.Role, [], [], 0, spec.Shape);
                }
                if (!e.DTypes.Contains(spec.DType))
                {
                    e.DTypes.Add(spec.DType);
                }
                e.Ranks.Add(spec.Shape.Rank);
                byName[spec.Name] = (e.Role, e.DTypes, e.Ranks, e.Count + 1, e.Example);
            }
        }
        Tensors = order.Select(n =>
        {
            var e = byName[n];
            return new TensorContract(n, e.Role, e.DTypes, e.Ranks.ToArray(), e.Count < cases.Count, e.Example);
        }).ToArray();
        Cases = cases;
    }

    /// <summary>The op's name.</summary>
    public string Op { get; }

    /// <summary>Every tensor of every case, inputs first as declared.</summary>
    public IReadOnlyList<TensorContract> Tensors { get; }

    /// <summary>Inputs and in-outs.</summary>
    public IEnumerable<TensorContract> Reads => Tensors.Where(t => t.Role != TensorRole.Output);

    /// <summary>Outputs and in-outs.</summary>
    public IEnumerable<TensorContract> Writes => Tensors.Where(t => t.Role != TensorRole.Input);

    /// <summary>The declared attributes.</summary>
    public OpAttributes Attributes { get; }

    /// <summary>The case table it was gathered from.</summary>
    public IReadOnlyList<OpCaseInstance> Cases { get; }

    /// <summary>The tensor named <paramref name="name"/>, or null.</summary>
    public TensorContract? Find(string name) => Tensors.FirstOrDefault(t => t.Name == name);

    /// <summary>One line per input: <c>q f32|f16|bf16 rank 4, e.g. [1, 2, 64, 64]</c>.</summary>
    public string Describe(TensorContract t)
    {
        ArgumentNullException.ThrowIfNull(t);
        string ranks = t.Ranks.Count == 1 ? $"rank {t.Ranks[0]}" : $"rank {string.Join(" or ", t.Ranks)}";
        return $"'{t.Name}' {t.DTypeText} {ranks}, e.g. {t.Example}{(t.Optional ? " (optional)" : string.Empty)}";
    }

    /// <summary>
    /// Checks user inputs and attributes against the contract before binding, and says everything
    /// wrong at once: unknown attributes (with the ones that exist, and <c>mask=causal</c> when the
    /// name given is a value of another attribute), values of the wrong type or out of range,
    /// unknown inputs, outputs passed as inputs, missing required inputs, dtypes outside the
    /// checked ones, empty tensors.
    /// </summary>
    /// <exception cref="ArgumentException">Anything is wrong; the message lists every problem.</exception>
    public void Check(IReadOnlyDictionary<string, Tensor> inputs, IReadOnlyDictionary<string, string> attributes)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(attributes);
        var problems = new List<string>();
        foreach (var (name, value) in attributes)
        {
            if (Attributes.Find(name) is not { } attr)
            {
                problems.Add(UnknownAttribute(name, value));
            }
            else if (attr.Problem(value) is { } problem)
            {
                problems.Add(problem);
            }
        }
        foreach (var (name, tensor) in inputs)
        {
            var t = Find(name);
            if (t is null)
            {
                problems.Add($"no input '{name}' (inputs: {string.Join(", ", Reads.Select(r => r.Name))})");
                continue;
            }
            if (t.Role == TensorRole.Output)
            {
                problems.Add($"'{name}' is an output, not an input (pass it with --out)");
                continue;
            }
            if (!t.DTypes.Contains(tensor.DType))
            {
                problems.Add($"input '{name}' is {tensor.DType.Name()}; expected {t.DTypeText}");
            }
            if (!t.Ranks.Contains(tensor.Rank))
            {
                problems.Add($"input '{name}' has shape {tensor.Shape} (rank {tensor.Rank}); expected rank {string.Join(" or ", t.Ranks)}, e.g. {t.Example}");
            }
            else if (tensor.ElementCount == 0)
            {
                problems.Add($"input '{name}' is empty (shape {tensor.Shape}); every extent must be at least 1");
            }
        }
        var missing = Reads.Where(r => !r.Optional && !inputs.ContainsKey(r.Name)).ToArray();
        if (missing.Length > 0)
        {
            problems.Add($"missing input{(missing.Length > 1 ? "s" : string.Empty)}: {string.Join("; ", missing.Select(Describe))}");
        }
        if (problems.Count > 0)
        {
            throw new ArgumentException($"op '{Op}': {string.Join("; ", problems)}");
        }
    }

    private string UnknownAttribute(string name, string value)
    {
        // --attr causal=true: 'causal' is a value of 'mask'.
        var owner = Attributes.FirstOrDefault(a => a.Choices.Contains(name, StringComparer.Ordinal));
        var close = Attributes.Where(a => Distance(a.Name, name) <= 2).Select(a => a.Name).FirstOrDefault();
        string hint = owner is not null ? $"; did you mean {owner.Name}={name}?"
            : close is not null ? $"; did you mean {close}={value}?"
            : string.Empty;
        string known = Attributes.Count == 0
            ? "it takes no attributes"
            : "attributes: " + string.Join(", ", Attributes.Select(a => a.Name));
        return $"no attribute '{name}'{hint} ({known})";
    }

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }
        for (int j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }
        }
        return d[a.Length, b.Length];
    }
}
