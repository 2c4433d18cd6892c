// Backend.Workspaces (issue 17, finding 7): ops rent scratch memory for one call and hand it back,
// so a warm stream allocates and frees nothing per call (each cuMemFree synchronizes the device).
using NUnit.Framework;
using Zoetrope.Attention;
using Zoetrope.Attention.Flash;
using Zoetrope.Attention.Sparse;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Tensors;

[TestFixture]
public sealed class WorkspacePoolTests
{
    [Test]
    public void AReturnedWorkspaceIsReusedForAnEqualOrSmallerRequest()
    {
        using var backend = Backends.Create(BackendKind.Reference);
        var pool = backend.Workspaces;
        var first = pool.Rent(DType.F32, new Shape(1000), "a");
        var storage = first.Storage;
        first.Dispose();
        using var second = pool.Rent(DType.U8, new Shape(3000), "b");
        Assert.That(second.Storage, Is.SameAs(storage), "best fit reuses the idle storage");
        Assert.That(second.Shape, Is.EqualTo(new Shape(3000)));
        Assert.That((pool.Rents, pool.Allocations), Is.EqualTo((2L, 1L)));
        using var bigger = pool.Rent(DType.F32, new Shape(2000), "c");
        Assert.That(pool.Allocations, Is.EqualTo(2), "a larger request than any idle storage allocates");
    }

    [Test]
    public void TwoLiveRentalsNeverShareMemoryAndADoubleDisposeReturnsOnce()
    {
        using var backend = Backends.Create(BackendKind.Reference);
        var pool = backend.Workspaces;
        var a = pool.Rent(DType.F32, new Shape(64), "a");
        var b = pool.Rent(DType.F32, new Shape(64), "b");
        Assert.That(b.Storage, Is.Not.SameAs(a.Storage));
        a.Dispose();
        a.Dispose();
        var c = pool.Rent(DType.F32, new Shape(64), "c");
        var d = pool.Rent(DType.F32, new Shape(64), "d");
        Assert.That(c.Storage, Is.SameAs(a.Storage));
        Assert.That(d.Storage, Is.Not.SameAs(a.Storage).And.Not.SameAs(b.Storage), "a's storage went back once, not twice");
        foreach (var t in new[] { b, c, d })
        {
            t.Dispose();
        }
    }

    [Test]
    public void IdleStoragesAreCappedAndFreedWithTheBackend()
    {
        var backend = Backends.Create(BackendKind.Reference);
        long before = backend.LiveBytes;
        var pool = backend.Workspaces;
        var rented = Enumerable.Range(1, WorkspacePool.MaxIdle + 3).Select(i => pool.Rent(DType.F32, new Shape(i * 1024), $"w{i}")).ToArray();
        long all = backend.LiveBytes - before;
        foreach (var t in rented)
        {
            t.Dispose();
        }
        // The three smallest (4, 8, 12 KiB) were freed; the eight largest stay idle.
        Assert.That(pool.IdleBytes, Is.EqualTo(all - ((1 + 2 + 3) * 4096)));
        Assert.That(backend.LiveBytes - before, Is.EqualTo(pool.IdleBytes));
        backend.Dispose();
        Assert.That(backend.LiveBytes, Is.EqualTo(before), "disposing the backend frees the idle workspaces");
    }

    [Test]
    public void ASecondBlockMapCallAllocatesNoWorkspace()
    {
        // block_map's pooled means are a per-call workspace: the first call allocates it, the
        // second (same shapes, as every block of a stream) reuses it.
        using var backend = Backends.Create(BackendKind.IlgpuCpu);
        var rng = new Random(7);
        double[] Values(int n) => Enumerable.Range(0, n).Select(_ => rng.NextDouble() - 0.5).ToArray();
        using var q = backend.Allocate(DType.F16, new Shape(1, 2, 128, 64), "q");
        using var k = backend.Allocate(DType.F16, new Shape(1, 2, 128, 64), "k");
        q.WriteDoubles(Values(2 * 128 * 64));
        k.WriteDoubles(Values(2 * 128 * 64));
        var blocks = new SparseBlocks(64, 64);
        using (BlockMap.Run(q, k, HeadLayout.Hnd, AttentionMask.None, blocks, BlockSelection.TopK(0.5f)))
        {
        }
        long allocations = backend.Workspaces.Allocations;
        long live = backend.LiveBytes;
        Assert.That(allocations, Is.GreaterThan(0), "block_map rents its workspace from the pool");
        using (BlockMap.Run(q, k, HeadLayout.Hnd, AttentionMask.None, blocks, BlockSelection.TopK(0.5f)))
        {
        }
        Assert.That(backend.Workspaces.Allocations, Is.EqualTo(allocations));
        Assert.That(backend.LiveBytes, Is.EqualTo(live));
    }

    [Test]
    public void AHandedBackWorkspaceRefusesToBeViewedAndOneReturnedAfterDisposeIsFreed()
    {
        var backend = (IlgpuBackend)Backends.Create(BackendKind.IlgpuCpu);
        long before = backend.LiveBytes;
        var stale = backend.Workspaces.Rent(DType.F32, new Shape(64), "stale");
        stale.Dispose();
        Assert.That(stale.IsReleased, Is.True);
        Assert.Throws<ObjectDisposedException>(() => backend.View<float>(stale), "its memory may be the next rental's");
        Assert.Throws<ObjectDisposedException>(() => backend.DevicePointer(stale));

        // A rental still out when the backend is disposed is freed when it comes back, not kept idle.
        var late = backend.Workspaces.Rent(DType.F32, new Shape(1 << 16), "late");
        backend.Dispose();
        late.Dispose();
        Assert.That(backend.LiveBytes, Is.EqualTo(before));
    }
}
