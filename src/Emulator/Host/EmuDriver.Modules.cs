using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using Zoetrope.Emulator.Device;

namespace Zoetrope.Emulator.Host;

// Modules, kernels and launches. cuModuleLoadData takes PTX text (what ILGPU gives it) or a fat
// binary holding PTX; a cubin is SASS, which the emulated device cannot run. cuLaunchKernel takes
// the arguments either as kernelParams (one pointer per parameter) or, as ILGPU 1.5.3 passes
// them, as one packed buffer through `extra` (CU_LAUNCH_PARAM_BUFFER_POINTER / _SIZE), laid out
// at the offsets of the PTX .param declarations.
internal static unsafe partial class EmuDriver
{
    private const int JitInfoLogBuffer = 3;
    private const int JitInfoLogBufferSize = 4;
    private const int JitErrorLogBuffer = 5;
    private const int JitErrorLogBufferSize = 6;

    private const nint LaunchParamEnd = 0;
    private const nint LaunchParamBufferPointer = 1;
    private const nint LaunchParamBufferSize = 2;

    // One handle per kernel, as cuModuleGetFunction returns the same CUfunction for a name.
    private static readonly ConcurrentDictionary<EmuFunction, nint> FunctionHandles = new();
    private static int _modulesLoaded;

    [UnmanagedCallersOnly]
    private static int cuModuleLoadData(nint* module, byte* image)
    {
        try
        {
            NotNull(module, "module", nameof(cuModuleLoadData));
            *module = LoadModule(image, nameof(cuModuleLoadData));
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuModuleLoadData));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuModuleLoadDataEx(nint* module, byte* image, uint optionCount, int* options, void** optionValues)
    {
        try
        {
            NotNull(module, "module", nameof(cuModuleLoadDataEx));
            if (optionCount > 0)
            {
                NotNull(options, "options", nameof(cuModuleLoadDataEx));
                NotNull(optionValues, "optionValues", nameof(cuModuleLoadDataEx));
            }
            try
            {
                *module = LoadModule(image, nameof(cuModuleLoadDataEx));
                WriteLog(optionCount, options, optionValues, JitInfoLogBuffer, JitInfoLogBufferSize, string.Empty);
                WriteLog(optionCount, options, optionValues, JitErrorLogBuffer, JitErrorLogBufferSize, string.Empty);
                return CudaCodes.Success;
            }
            catch (Exception e)
            {
                // The JIT error log is where a driver user looks for why PTX did not load.
                int code = HostCalls.FailDriver(e, nameof(cuModuleLoadDataEx));
                WriteLog(optionCount, options, optionValues, JitErrorLogBuffer, JitErrorLogBufferSize, HostState.Device.LastDiagnostic ?? e.Message);
                return code;
            }
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuModuleLoadDataEx));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuModuleUnload(nint module)
    {
        try
        {
            var m = HostState.Modules.Remove(module, nameof(cuModuleUnload));
            HostState.Functions.RemoveWhere(f => ReferenceEquals(f.Module, m));
            foreach (var f in m.Functions.Values)
            {
                FunctionHandles.TryRemove(f, out _);
            }
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuModuleUnload));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuModuleGetFunction(nint* function, nint module, byte* name)
    {
        try
        {
            NotNull(function, "function", nameof(cuModuleGetFunction));
            NotNull(name, "name", nameof(cuModuleGetFunction));
            var m = HostState.Modules.Get(module, nameof(cuModuleGetFunction));
            var f = m.GetFunction(Marshal.PtrToStringUTF8((nint)name) ?? string.Empty);
            *function = FunctionHandles.GetOrAdd(f, static k => HostState.Functions.Add(k));
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuModuleGetFunction));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuFuncGetAttribute(int* value, int attribute, nint function)
    {
        try
        {
            NotNull(value, "value", nameof(cuFuncGetAttribute));
            *value = FunctionAttributes.Get(HostState.Functions.Get(function, nameof(cuFuncGetAttribute)), attribute);
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuFuncGetAttribute));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuFuncSetAttribute(nint function, int attribute, int value)
    {
        try
        {
            FunctionAttributes.Set(HostState.Functions.Get(function, nameof(cuFuncSetAttribute)), attribute, value);
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuFuncSetAttribute));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuLaunchKernel(nint function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        uint sharedBytes, nint stream, void** kernelParams, void** extra)
    {
        try
        {
            var f = HostState.Functions.Get(function, nameof(cuLaunchKernel));
            HostState.RequireStream(stream, nameof(cuLaunchKernel));
            if (sharedBytes > int.MaxValue)
            {
                throw new EmulatorException(EmuError.OutOfResources, $"launch of {f.Name}: {sharedBytes} bytes of dynamic shared memory");
            }
            byte[] parameters = kernelParams != null && extra != null
                ? throw new EmulatorException(EmuError.InvalidValue, $"launch of {f.Name}: both kernelParams and extra are given")
                : extra != null ? PackBuffer(f, extra) : f.PackArguments(kernelParams);
            var config = new LaunchConfig(new Dim3(gridX, gridY, gridZ), new Dim3(blockX, blockY, blockZ), (int)sharedBytes);
            HostState.Executor.Launch(f, config, parameters);
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuLaunchKernel));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuOccupancyMaxActiveBlocksPerMultiprocessor(int* blocks, nint function, int blockSize, nuint dynamicShared)
    {
        try
        {
            NotNull(blocks, "numBlocks", nameof(cuOccupancyMaxActiveBlocksPerMultiprocessor));
            var f = HostState.Functions.Get(function, nameof(cuOccupancyMaxActiveBlocksPerMultiprocessor));
            *blocks = FunctionAttributes.ActiveBlocksPerSm(f, blockSize, (long)dynamicShared);
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuOccupancyMaxActiveBlocksPerMultiprocessor));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuOccupancyMaxPotentialBlockSize(int* minGrid, int* blockSize, nint function, nint sharedOfBlockSize,
        nuint dynamicShared, int blockSizeLimit)
    {
        try
        {
            NotNull(minGrid, "minGridSize", nameof(cuOccupancyMaxPotentialBlockSize));
            NotNull(blockSize, "blockSize", nameof(cuOccupancyMaxPotentialBlockSize));
            var f = HostState.Functions.Get(function, nameof(cuOccupancyMaxPotentialBlockSize));
            var p = HostState.Device.Properties;
            int limit = blockSizeLimit > 0 ? Math.Min(blockSizeLimit, p.MaxThreadsPerBlock) : p.MaxThreadsPerBlock;
            int bestThreads = 0, bestBlock = 0, bestBlocks = 0;
            // Largest block first, so ties keep the larger block, as the CUDA occupancy calculator does.
            for (int b = Math.Max(p.WarpSize, limit / p.WarpSize * p.WarpSize); b >= p.WarpSize; b -= p.WarpSize)
            {
                long shared = sharedOfBlockSize != 0 ? (long)((delegate* unmanaged<int, nuint>)sharedOfBlockSize)(b) : (long)dynamicShared;
                int n = FunctionAttributes.ActiveBlocksPerSm(f, Math.Min(b, limit), shared);
                if (n * b > bestThreads)
                {
                    (bestThreads, bestBlock, bestBlocks) = (n * b, Math.Min(b, limit), n);
                }
            }
            *blockSize = bestBlock;
            *minGrid = bestBlocks * p.MultiprocessorCount;
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuOccupancyMaxPotentialBlockSize));
        }
    }

    /// <summary>Loads PTX text, or the PTX of a fat binary, as a module and returns its handle.</summary>
    private static nint LoadModule(byte* image, string call)
    {
        NotNull(image, "image", call);
        string ptx;
        string what = $"{call} #{Interlocked.Increment(ref _modulesLoaded)}";
        uint magic = *(uint*)image;
        if (magic == FatBinary.Magic || magic == FatBinary.WrapperMagic)
        {
            var fatbin = magic == FatBinary.Magic ? FatBinary.FromAddress(image) : FatBinary.FromWrapper(image);
            ptx = FatBinary.PtxText(fatbin, FatBinary.SelectPtx(FatBinary.Parse(fatbin), Arch, what));
        }
        else if (magic == 0x464C457F)
        {
            throw new EmulatorException(EmuError.NotSupported, $"{call}: the image is a cubin (SASS), which the emulated device cannot run; load PTX");
        }
        else
        {
            ptx = Marshal.PtrToStringUTF8((nint)image) ?? string.Empty;
        }
        string origin = FatBinary.SourceFile(ptx) is { } file ? $"{what} ({file})" : FirstEntry(ptx) is { } entry ? $"{what} (.entry {entry})" : what;
        return HostState.Modules.Add(HostState.Executor.LoadModule(ptx, origin));
    }

    /// <summary>The device's architecture number (80).</summary>
    private static int Arch => HostState.Device.Properties.Major * 10 + HostState.Device.Properties.Minor;

    /// <summary>The parameter block from `extra`: CU_LAUNCH_PARAM_BUFFER_POINTER and _SIZE pairs up to _END.</summary>
    private static byte[] PackBuffer(EmuFunction f, void** extra)
    {
        byte* buffer = null;
        nuint size = 0;
        bool sized = false;
        for (int i = 0; ; i += 2)
        {
            nint key = (nint)extra[i];
            if (key == LaunchParamEnd)
            {
                break;
            }
            if (key == LaunchParamBufferPointer)
            {
                buffer = (byte*)extra[i + 1];
            }
            else if (key == LaunchParamBufferSize)
            {
                NotNull(extra[i + 1], "CU_LAUNCH_PARAM_BUFFER_SIZE's value", nameof(cuLaunchKernel));
                size = *(nuint*)extra[i + 1];
                sized = true;
            }
            else
            {
                throw new EmulatorException(EmuError.InvalidValue, $"launch of {f.Name}: extra option 0x{key:x} is not a CU_LAUNCH_PARAM");
            }
        }
        var block = new byte[Math.Max(1, f.ParameterBytes)];
        if (f.ParameterBytes == 0)
        {
            return block;
        }
        if (buffer == null || !sized)
        {
            throw new EmulatorException(EmuError.InvalidValue,
                $"launch of {f.Name}: extra must give CU_LAUNCH_PARAM_BUFFER_POINTER and CU_LAUNCH_PARAM_BUFFER_SIZE for its {f.ParameterBytes} parameter bytes");
        }
        if (size < (nuint)f.ParameterBytes)
        {
            throw new EmulatorException(EmuError.InvalidValue,
                $"launch of {f.Name}: the argument buffer has {size} bytes, the kernel's parameters take {f.ParameterBytes}");
        }
        new ReadOnlySpan<byte>(buffer, f.ParameterBytes).CopyTo(block);
        return block;
    }

    /// <summary>Writes <paramref name="text"/> into the JIT log buffer the options give, if they give one.</summary>
    private static void WriteLog(uint count, int* options, void** values, int bufferOption, int sizeOption, string text)
    {
        byte* buffer = null;
        int sizeIndex = -1;
        for (int i = 0; i < count; i++)
        {
            if (options[i] == bufferOption)
            {
                buffer = (byte*)values[i];
            }
            else if (options[i] == sizeOption)
            {
                sizeIndex = i;
            }
        }
        if (buffer == null || sizeIndex < 0)
        {
            return;
        }
        // The size is passed as the option's value itself; the driver writes back what it used.
        int capacity = (int)Math.Min((nuint)values[sizeIndex], int.MaxValue);
        if (capacity <= 0)
        {
            return;
        }
        var bytes = Encoding.UTF8.GetBytes(text);
        int n = Math.Min(bytes.Length, capacity - 1);
        bytes.AsSpan(0, n).CopyTo(new Span<byte>(buffer, capacity));
        buffer[n] = 0;
        values[sizeIndex] = (void*)(nuint)n;
    }

    /// <summary>The name of the first .entry in <paramref name="ptx"/>, for a readable origin.</summary>
    private static string? FirstEntry(string ptx)
    {
        int at = ptx.IndexOf(".entry ", StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }
        int start = at + ".entry ".Length;
        int end = start;
        while (end < ptx.Length && (char.IsLetterOrDigit(ptx[end]) || ptx[end] is '_' or '$' or '.'))
        {
            end++;
        }
        return end > start ? ptx[start..end] : null;
    }
}
