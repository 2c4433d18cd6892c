using System.CommandLine;
using System.Runtime.InteropServices;
using Spectre.Console;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Cuda;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Cli.Commands;

/// <summary><c>zoe info</c>: the machine, its GPUs, the backends that can run, the native shim, the ops.</summary>
public static class InfoCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("info", "Show the CPU, ILGPU accelerators, CUDA GPUs, backends, the native shim and the registered ops");
        cmd.SetAction(_ => Guard.Run(Run));
        return cmd;
    }

    private static int Run()
    {
        var host = new Table().Border(TableBorder.Rounded).AddColumns("item", "value");
        host.AddRow("zoe", typeof(InfoCommand).Assembly.GetName().Version?.ToString() ?? "?");
        host.AddRow(".NET", RuntimeInformation.FrameworkDescription);
        host.AddRow("OS", RuntimeInformation.OSDescription);
        host.AddRow("CPU", Markup.Escape($"{CpuModel()} ({Environment.ProcessorCount} logical cores)"));
        host.AddRow("ILGPU", typeof(ILGPU.Context).Assembly.GetName().Version?.ToString() ?? "?");
        AnsiConsole.Write(host);

        var cuda = CudaDriver.Probe();
        if (!cuda.Available)
        {
            AnsiConsole.MarkupLine($"CUDA: [yellow]{Markup.Escape(cuda.Reason)}[/]");
        }
        else
        {
            var gpus = new Table().Border(TableBorder.Rounded).Title("CUDA").AddColumns("#", "name", "sm", "SMs", "memory", "SM clock", "mem clock", "peak GB/s");
            foreach (var d in cuda.Devices)
            {
                gpus.AddRow(d.Ordinal.ToString(), Markup.Escape(d.Name), d.Sm, d.SmCount.ToString(), $"{d.TotalMemoryBytes / (1024.0 * 1024 * 1024):0.0} GiB",
                    $"{d.ClockKHz / 1000} MHz", $"{d.MemoryClockKHz / 1000} MHz", $"{d.PeakBandwidthGBps:0}");
            }
            gpus.Caption($"driver CUDA {cuda.DriverVersionText}");
            AnsiConsole.Write(gpus);
        }

        var backends = new Table().Border(TableBorder.Rounded).Title("backends").AddColumns("backend", "available", "device or reason");
        foreach (var kind in BackendKinds.All)
        {
            var a = Backends.Probe(kind);
            string detail = a.Available ? DeviceOf(kind) : a.Reason;
            backends.AddRow(kind.Label(), a.Available ? "[green]yes[/]" : "[red]no[/]", Markup.Escape(detail));
        }
        AnsiConsole.Write(backends);
        AnsiConsole.MarkupLine($"native shim: {Markup.Escape(NativeShim.Describe())}");

        var ops = new Table().Border(TableBorder.Rounded).Title("ops").AddColumns("op", "backends", "ILGPU kernels", "summary");
        foreach (var op in OpCatalog.All)
        {
            ops.AddRow(op.Name, string.Join(", ", op.Backends.Select(b => b.Label())), op.Kernels.Count.ToString(), Markup.Escape(op.Summary));
        }
        ops.Caption("zoe ops <op>: its inputs, outputs, attributes and a ready-to-paste run-op line");
        AnsiConsole.Write(ops);

        // Which hand-written kernel the cuda backend's dispatch takes on each architecture (the
        // ops' [CudaKernel] declarations, checked against the kernels that run on the emulated parts).
        var kernels = new Table().Border(TableBorder.Rounded).Title("hand-written CUDA kernels (zt_last_kernel's names)")
            .AddColumns("op", "sm_80, sm_89 (and 9.x where the sm_90 ones do not apply)", "sm_90 (H100, H200)");
        foreach (var op in OpCatalog.All)
        {
            var declared = CudaKernels.Of(op);
            if (declared.Count == 0)
            {
                continue;
            }
            string Cell(Func<CudaKernelAttribute, bool> which) =>
                string.Join("\n", declared.Where(which).Select(k => Markup.Escape($"{k.Name}: {k.When}")));
            kernels.AddRow(op.Name, Cell(k => k.Sm < 90), Cell(k => k.Sm >= 90));
        }
        kernels.Caption("zoe run-op <op> --backend cuda prints the kernel that ran");
        AnsiConsole.Write(kernels);
        return 0;
    }

    private static string DeviceOf(BackendKind kind)
    {
        if (kind.IsEmulated())
        {
            // Opening one would commit this process to the emulated device (and hide the real
            // shim and GPUs from the rest of this report): describe it without opening it.
            var emu = Zoetrope.Emulator.Device.EmuDevice.Shared.Properties.Name;
            return kind == BackendKind.CudaEmu && NativeShim.TryLoadEmulated(out _) ? $"{emu} + {NativeShim.EmulatedFileName}" : emu;
        }
        try
        {
            // Opening a GPU backend creates a context: only worth it when one exists.
            return Backends.Get(kind).DeviceName;
        }
        catch (ZoetropeDeviceException e)
        {
            return e.Message;
        }
    }

    private static string CpuModel()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
                if (line is not null)
                {
                    return line[(line.IndexOf(':') + 1)..].Trim();
                }
            }
        }
        catch (IOException)
        {
            // Fall through to the architecture name.
        }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }
}
