namespace Zoetrope.Emulator.Exec;

/// <summary>
/// Generic addresses of the emulated device. Global addresses are host addresses (below 2^48 on
/// every 64-bit host this runs on); the shared and local windows sit far above them, so
/// <c>cvta</c> and generic <c>ld</c>/<c>st</c> can tell the three apart as a GPU's MMU does.
/// Addresses inside a state space (<c>ld.shared [%r1]</c>) are offsets from zero.
/// </summary>
internal static class AddressSpace
{
    public const ulong SharedWindow = 0x0100_0000_0000_0000UL;
    public const ulong LocalWindow = 0x0200_0000_0000_0000UL;
    public const ulong WindowSize = 0x0100_0000_0000_0000UL;

    public static bool IsShared(ulong generic) => generic >= SharedWindow && generic < SharedWindow + WindowSize;

    public static bool IsLocal(ulong generic) => generic >= LocalWindow && generic < LocalWindow + WindowSize;
}
