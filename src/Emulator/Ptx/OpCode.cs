namespace Zoetrope.Emulator.Ptx;

/// <summary>The instruction bases the interpreter implements; <see cref="Unknown"/> stops a launch that reaches it.</summary>
internal enum OpCode : byte
{
    Unknown,
    Mov, Add, Sub, Mul, Mad, Fma, Div, Rem, Abs, Neg, Min, Max, Copysign,
    And, Or, Xor, Not, Cnot, Shl, Shr, Popc, Clz, Brev, Bfe, Bfi, Prmt,
    Selp, Setp, Set, Slct, Testp, Cvt, Cvta,
    Ex2, Lg2, Rcp, Rsqrt, Sqrt, Tanh, Sin, Cos,
    Ld, Ldu, St, Atom, Red, CpAsync, CpAsyncCommit, CpAsyncWait, CpAsyncWaitAll, LdMatrix, Prefetch,
    Mma,
    MbarInit, MbarArrive, MbarExpectTx, MbarCompleteTx, MbarWait, MbarInval, CpBulk, CpBulkTensor, CpBulkCommit, CpBulkWait, // Hopper async (mbarrier, cp.async.bulk, TMA)
    Bra, Ret, Exit, Trap, Bar, BarArrive, BarWarp, Fence, Nanosleep,
    Shfl, Vote, Redux, Activemask, Match,
    Wgmma, WgmmaFence, WgmmaCommit, WgmmaWait, StMatrix, Elect, SetMaxNReg, // Hopper warpgroup (wgmma, stmatrix, elect, setmaxnreg)
}
