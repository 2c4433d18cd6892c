namespace Zoetrope.Runtime.Ops;

/// <summary>One backend's implementation of an op (the generator adapts each <see cref="RunsOnAttribute"/> method to this).</summary>
public delegate void OpImpl<TParams>(Backend backend, TParams p, OpTensors tensors)
    where TParams : struct, IOpParams;
