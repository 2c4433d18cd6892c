using Zoetrope.Emulator.Ptx;

namespace Zoetrope.Emulator.Device;

/// <summary>
/// A kernel of a loaded module: its PTX entry, parameter layout, shared-memory needs and the
/// attributes host code may set (cudaFuncSetAttribute / cuFuncSetAttribute).
/// </summary>
internal sealed class EmuFunction
{
    internal EmuFunction(EmuModule module, PtxFunction ptx)
    {
        Module = module;
        Ptx = ptx;
    }

    /// <summary>The module that holds it.</summary>
    public EmuModule Module { get; }

    /// <summary>The mangled device name (the .entry name).</summary>
    public string Name => Ptx.Name;

    /// <summary>The parameters in declaration order, with offsets in the parameter block.</summary>
    public IReadOnlyList<EmuParam> Parameters => Ptx.Params;

    /// <summary>The size of the parameter block (the last parameter's end).</summary>
    public int ParameterBytes => Ptx.ParamBytes;

    /// <summary>Static shared memory the PTX declares (module- and function-scope .shared).</summary>
    public int StaticSharedBytes => Ptx.StaticSharedBytes;

    /// <summary>Per-thread local memory (the local depot).</summary>
    public int LocalBytes => Ptx.LocalBytes;

    /// <summary>
    /// The most dynamic shared memory a launch may ask for: 48 KB minus the static part until
    /// the MaxDynamicSharedMemorySize attribute raises it (up to the opt-in limit), as on a GPU.
    /// </summary>
    public int MaxDynamicSharedBytes { get; set; } = -1;

    internal PtxFunction Ptx { get; }

    /// <summary>
    /// Packs the arguments of a launch into the parameter block: <paramref name="args"/> holds one
    /// pointer per parameter (the cudaLaunchKernel / cuLaunchKernel convention), each pointing at
    /// that argument's bytes.
    /// </summary>
    /// <exception cref="EmulatorException">A null argument pointer.</exception>
    public unsafe byte[] PackArguments(void** args)
    {
        var block = new byte[Math.Max(1, ParameterBytes)];
        if (Parameters.Count == 0)
        {
            return block;
        }
        if (args == null)
        {
            throw new EmulatorException(EmuError.InvalidValue, $"launch of {Name}: kernelParams is null but the kernel takes {Parameters.Count} parameters");
        }
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            if (args[i] == null)
            {
                throw new EmulatorException(EmuError.InvalidValue, $"launch of {Name}: argument {i} ({p.Name}) is a null pointer");
            }
            new ReadOnlySpan<byte>(args[i], p.Size).CopyTo(block.AsSpan(p.Offset, p.Size));
        }
        return block;
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
