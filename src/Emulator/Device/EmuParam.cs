namespace Zoetrope.Emulator.Device;

/// <summary>One kernel parameter as the PTX declares it: its byte offset in the parameter block, size and alignment.</summary>
internal readonly record struct EmuParam(string Name, int Offset, int Size, int Align);
