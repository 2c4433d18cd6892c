using System.Globalization;
using Zoetrope.Emulator.Device;

namespace Zoetrope.Emulator.Ptx;

/// <summary>
/// Parses the PTX that nvcc 12.4 and ILGPU emit into a <see cref="PtxModule"/>: module header,
/// .file table, module-scope variables, and each function's parameters, registers (scoped
/// blocks of inline asm get their own names), variables, labels and instructions. Every
/// instruction is decoded once here (<see cref="InstrDecoder"/>); an opcode the interpreter does
/// not implement fails the load with its name and line, so nothing is skipped at run time.
/// </summary>
internal sealed class PtxParser
{
    private readonly List<PtxToken> _t;
    private readonly string _source = "";
    private readonly string _origin;
    private readonly PtxModule _module;
    private readonly Dictionary<int, string> _files = new();
    // An opcode's dot-separated parts, split once per distinct opcode.
    private readonly Dictionary<string, string[]> _opcodeParts = new(StringComparer.Ordinal);
    // Module-scope variables by name: their state space.
    private readonly Dictionary<string, string> _moduleSpaces = new(StringComparer.Ordinal);
    private int _p;

    private PtxParser(List<PtxToken> tokens, string origin, string source = "")
    {
        _t = tokens;
        _source = source;
        _origin = origin;
        _module = new PtxModule { Origin = origin };
    }

    public static PtxModule Parse(string text, string origin)
    {
        var parser = new PtxParser(PtxLexer.Tokenize(text, origin), origin, text);
        parser.ParseModule();
        parser.BindSourceFiles();
        return parser._module;
    }

    private PtxToken Peek(int k = 0) => _p + k < _t.Count ? _t[_p + k] : new PtxToken(PtxTokenKind.Punct, "<eof>", _t.Count > 0 ? _t[^1].Line : 0);

    private PtxToken Next()
    {
        var tok = Peek();
        _p++;
        return tok;
    }

    private bool Accept(string s)
    {
        if (Peek().Text == s)
        {
            _p++;
            return true;
        }
        return false;
    }

    private void Expect(string s)
    {
        var tok = Next();
        if (tok.Text != s)
        {
            throw Error(tok.Line, $"expected '{s}', found '{tok.Text}'");
        }
    }

    private EmulatorException Error(int line, string message) =>
        new(EmuError.InvalidPtx, $"{_origin}:{line}: {message}");

    private void ParseModule()
    {
        while (_p < _t.Count)
        {
            var tok = Peek();
            switch (tok.Text)
            {
                case ".version":
                    Next();
                    _module.Version = Next().Text;
                    break;
                case ".target":
                    Next();
                    _module.Target = Next().Text;
                    while (Accept(","))
                    {
                        Next();
                    }
                    break;
                case ".address_size":
                    Next();
                    _module.AddressSize = int.Parse(Next().Text, CultureInfo.InvariantCulture);
                    break;
                case ".file":
                    ParseFile();
                    break;
                case ".section":
                    SkipSection();
                    break;
                default:
                    ParseDeclaration();
                    break;
            }
        }
    }

    /// <summary>Names each instruction's .loc position with the .file table, which nvcc writes after the functions.</summary>
    private void BindSourceFiles()
    {
        var names = new Dictionary<int, string>();
        foreach (var f in _module.Functions.Values)
        {
            foreach (var ins in f.Code)
            {
                if (ins.LocFile < 0)
                {
                    continue;
                }
                if (!names.TryGetValue(ins.LocFile, out var name))
                {
                    name = _files.TryGetValue(ins.LocFile, out var path) ? Path.GetFileName(path) : $"file {ins.LocFile}";
                    names[ins.LocFile] = name;
                }
                ins.Source = $"{name}:{ins.LocLine}";
            }
        }
    }

    private void ParseFile()
    {
        Next();
        int index = int.Parse(Next().Text, CultureInfo.InvariantCulture);
        _files[index] = Next().Text;
        while (Accept(","))
        {
            Next();
        }
    }

    private void SkipSection()
    {
        Next();
        Next();
        Expect("{");
        int depth = 1;
        while (depth > 0 && _p < _t.Count)
        {
            var s = Next().Text;
            depth += s == "{" ? 1 : s == "}" ? -1 : 0;
        }
    }

    private void ParseDeclaration()
    {
        bool isExtern = false;
        int line = Peek().Line;
        while (Peek().Text is ".visible" or ".weak" or ".extern" or ".common")
        {
            isExtern |= Next().Text == ".extern";
        }
        var kind = Peek().Text;
        if (kind is ".entry" or ".func")
        {
            Next();
            ParseFunction(kind == ".entry", line);
            return;
        }
        if (kind is ".shared" or ".global" or ".const")
        {
            var v = ParseVariable(isExtern);
            (kind == ".shared" ? _module.Shared : _module.Globals).Add(v);
            _moduleSpaces[v.Name] = v.Space;
            return;
        }
        throw Error(line, $"unexpected '{kind}' at module scope");
    }

    private PtxVariable ParseVariable(bool isExtern)
    {
        int line = Peek().Line;
        string space = Next().Text[1..];
        int align = 0;
        PtxType type = PtxType.B8;
        int vec = 1;
        while (Peek().Text.StartsWith('.'))
        {
            var d = Next().Text;
            if (d == ".align")
            {
                align = ParseInt(Next());
            }
            else if (d is ".v2" or ".v4")
            {
                vec = d == ".v2" ? 2 : 4;
            }
            else if (!PtxTypes.TryParse(d[1..], out type))
            {
                throw Error(line, $"unknown variable attribute '{d}'");
            }
        }
        string name = Next().Text;
        long count = 1;
        bool unsized = false;
        while (Accept("["))
        {
            if (Accept("]"))
            {
                unsized = true;
                continue;
            }
            count *= ParseInt(Next());
            Expect("]");
        }
        int elem = type.Size() * vec;
        byte[]? init = null;
        if (Accept("="))
        {
            init = ParseInitializer(type, elem, count);
        }
        Expect(";");
        return new PtxVariable
        {
            Name = name,
            Space = space,
            Align = align == 0 ? Math.Max(1, elem) : align,
            Size = unsized ? 0 : count * elem,
            IsExtern = isExtern || unsized,
            Init = init,
            Line = line,
        };
    }

    private byte[] ParseInitializer(PtxType type, int elem, long count)
    {
        var bytes = new byte[count * elem];
        int k = 0;
        bool braces = Accept("{");
        do
        {
            if (Peek().Text == "}")
            {
                break;
            }
            bool neg = Accept("-");
            var tok = Next();
            ulong v = ParseImmediate(tok, type.IsFloat() ? type : PtxType.B64, neg);
            for (int b = 0; b < elem && k * elem + b < bytes.Length; b++)
            {
                bytes[(k * elem) + b] = (byte)(v >> (8 * b));
            }
            k++;
        }
        while (Accept(","));
        if (braces)
        {
            Expect("}");
        }
        return bytes;
    }

    private int ParseInt(PtxToken tok) =>
        (int)ParseImmediate(tok, PtxType.S64, false);

    private ulong ParseImmediate(PtxToken tok, PtxType type, bool negate)
    {
        string s = tok.Text;
        ulong v;
        if (s.Length > 2 && s[0] == '0' && (s[1] == 'f' || s[1] == 'F') && s.Length == 10)
        {
            v = ulong.Parse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (type == PtxType.F64)
            {
                v = BitConverter.DoubleToUInt64Bits(BitConverter.UInt32BitsToSingle((uint)v));
            }
            if (negate)
            {
                v ^= type == PtxType.F64 ? 1UL << 63 : 1UL << 31;
            }
            return v;
        }
        if (s.Length > 2 && s[0] == '0' && (s[1] == 'd' || s[1] == 'D') && s.Length == 18)
        {
            v = ulong.Parse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (type == PtxType.F32)
            {
                v = BitConverter.SingleToUInt32Bits((float)BitConverter.UInt64BitsToDouble(v));
            }
            if (negate)
            {
                v ^= type == PtxType.F32 ? 1UL << 31 : 1UL << 63;
            }
            return v;
        }
        var body = s.TrimEnd('U', 'u');
        if (body.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            v = ulong.Parse(body.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }
        else if (body.Contains('.') || body.Contains('e') || body.Contains('E'))
        {
            double d = double.Parse(body, CultureInfo.InvariantCulture) * (negate ? -1 : 1);
            return type == PtxType.F64 ? BitConverter.DoubleToUInt64Bits(d) : BitConverter.SingleToUInt32Bits((float)d);
        }
        else if (body.Length > 2 && body[0] == '0' && (body[1] == 'b' || body[1] == 'B'))
        {
            // 0[bB]{bit}+: a binary literal (PTX ISA 4.5.1).
            if (!ulong.TryParse(body.AsSpan(2), NumberStyles.BinaryNumber, CultureInfo.InvariantCulture, out v))
            {
                throw Error(tok.Line, $"bad number '{s}'");
            }
        }
        else if (body.Length > 1 && body[0] == '0' && body.All(char.IsDigit))
        {
            if (!body.All(c => c is >= '0' and <= '7'))
            {
                throw Error(tok.Line, $"bad octal number '{s}'");
            }
            v = Convert.ToUInt64(body, 8);
        }
        else if (!ulong.TryParse(body, NumberStyles.None, CultureInfo.InvariantCulture, out v))
        {
            throw Error(tok.Line, $"bad number '{s}'");
        }
        if (negate)
        {
            v = (ulong)-(long)v;
        }
        // An integer constant where a float is expected takes the float's value, in either width.
        if (type == PtxType.F32)
        {
            return BitConverter.SingleToUInt32Bits((long)v);
        }
        if (type == PtxType.F64)
        {
            return BitConverter.DoubleToUInt64Bits((long)v);
        }
        return v;
    }

    private sealed class Scope
    {
        public readonly Dictionary<string, int> Regs = new(StringComparer.Ordinal);
    }

    private void ParseFunction(bool isEntry, int line)
    {
        // Return parameters of a .func: "(.reg .b32 r) name (params)".
        if (Peek().Text == "(")
        {
            SkipParens();
        }
        string name = Next().Text;
        var fn = new PtxFunction { Name = name, IsEntry = isEntry, Line = line };
        var paramOffsets = new Dictionary<string, int>(StringComparer.Ordinal);
        if (Accept("("))
        {
            int offset = 0;
            while (!Accept(")"))
            {
                var (pname, size, align) = ParseParam();
                offset = (offset + align - 1) / align * align;
                fn.Params.Add(new EmuParam(pname, offset, size, align));
                paramOffsets[pname] = offset;
                offset += size;
                Accept(",");
            }
            fn.ParamBytes = offset;
        }
        while (Peek().Text.StartsWith('.'))
        {
            var d = Next().Text;
            if (d is ".maxntid" or ".reqntid")
            {
                int threads = ParseInt(Next());
                while (Accept(","))
                {
                    threads *= ParseInt(Next());
                }
                fn.MaxThreads = threads;
            }
            else
            {
                // .minnctapersm N, .maxnreg N, .noreturn, .pragma …: performance hints.
                while (Peek().Kind == PtxTokenKind.Number || Peek().Text == ",")
                {
                    Next();
                }
            }
        }
        if (Accept(";"))
        {
            return; // a declaration only
        }
        Expect("{");
        var body = new FunctionBody(this, fn, paramOffsets);
        body.Parse();
        _module.Functions[name] = fn;
    }

    private void SkipParens()
    {
        Expect("(");
        int depth = 1;
        while (depth > 0)
        {
            var s = Next().Text;
            depth += s == "(" ? 1 : s == ")" ? -1 : 0;
        }
    }

    private (string Name, int Size, int Align) ParseParam()
    {
        int line = Peek().Line;
        Expect(".param");
        int align = 0;
        int size = 0;
        bool pointer = false;
        string? name = null;
        while (Peek().Text is not ("," or ")"))
        {
            var tok = Next();
            if (tok.Text == ".align")
            {
                // After .ptr, .align is the alignment of the memory pointed to (`.param .u64 .ptr
                // .global .align 1 p`, as LLVM emits), not of the parameter.
                int n = ParseInt(Next());
                if (!pointer)
                {
                    align = n;
                }
            }
            else if (tok.Text == ".ptr")
            {
                pointer = true;
            }
            else if (tok.Text.StartsWith('.'))
            {
                if (PtxTypes.TryParse(tok.Text[1..], out var type))
                {
                    size = type.Size();
                }
                // .global, .shared, .const, .local after .ptr: the pointee's state space.
            }
            else if (tok.Text == "[")
            {
                size *= ParseInt(Next());
                Expect("]");
            }
            else
            {
                name = tok.Text;
            }
        }
        if (name is null || size == 0)
        {
            throw Error(line, "a .param without a name or a type");
        }
        return (name, size, align == 0 ? size : align);
    }

    /// <summary>One function body: scopes, variables, labels, instructions.</summary>
    private sealed class FunctionBody
    {
        private readonly PtxParser _ps;
        private readonly PtxFunction _fn;
        private readonly Dictionary<string, int> _params;
        private readonly List<Scope> _scopes = new() { new Scope() };
        private readonly Dictionary<string, int> _labels = new(StringComparer.Ordinal);
        private readonly List<(Operand Op, string Label, int Line)> _pendingLabels = new();
        private readonly List<PtxVariable> _shared = new();
        private readonly List<PtxVariable> _local = new();
        private readonly Dictionary<string, string> _spaces = new(StringComparer.Ordinal);
        private int _locFile = -1;
        private int _locLine;

        public FunctionBody(PtxParser parser, PtxFunction fn, Dictionary<string, int> parameters)
        {
            _ps = parser;
            _fn = fn;
            _params = parameters;
        }

        public void Parse()
        {
            while (true)
            {
                var tok = _ps.Peek();
                if (tok.Text == "<eof>")
                {
                    throw _ps.Error(tok.Line, $"function {_fn.Name} is not closed");
                }
                if (tok.Text == "}")
                {
                    _ps.Next();
                    if (_scopes.Count == 1)
                    {
                        break;
                    }
                    _scopes.RemoveAt(_scopes.Count - 1);
                    continue;
                }
                if (tok.Text == "{")
                {
                    _ps.Next();
                    _scopes.Add(new Scope());
                    continue;
                }
                if (tok.Text == ".reg")
                {
                    ParseReg();
                    continue;
                }
                if (tok.Text is ".shared" or ".local")
                {
                    var v = _ps.ParseVariable(false);
                    (v.Space == "shared" ? _shared : _local).Add(v);
                    _spaces[v.Name] = v.Space;
                    continue;
                }
                if (tok.Text == ".loc")
                {
                    ParseLoc();
                    continue;
                }
                if (tok.Text is ".pragma")
                {
                    while (_ps.Next().Text != ";")
                    {
                    }
                    continue;
                }
                if (tok.Kind == PtxTokenKind.Ident && _ps.Peek(1).Text == ":" && !tok.Text.StartsWith('%'))
                {
                    _ps.Next();
                    _ps.Next();
                    _labels[tok.Text] = _fn.Code.Count;
                    continue;
                }
                ParseInstruction();
            }
            foreach (var (op, label, line) in _pendingLabels)
            {
                if (!_labels.TryGetValue(label, out op.Target))
                {
                    throw _ps.Error(line, $"unknown label or symbol '{label}' in {_fn.Name}");
                }
            }
            Layout();
            _fn.RegisterCount = _fn.RegisterNames.Count;
        }

        private void ParseLoc()
        {
            var loc = _ps.Next();
            int file = _ps.ParseInt(_ps.Next());
            int srcLine = _ps.ParseInt(_ps.Next());
            while (_ps.Peek().Line == loc.Line && _ps.Peek().Text != "<eof>")
            {
                _ps.Next();
            }
            _locFile = file;
            _locLine = srcLine;
        }

        private void ParseReg()
        {
            _ps.Next();
            var scope = _scopes[^1];
            // .reg .v2 .b32 is legal PTX but not emitted by our compilers; types are not needed per register.
            while (_ps.Peek().Text.StartsWith('.'))
            {
                _ps.Next();
            }
            do
            {
                string name = _ps.Next().Text;
                if (_ps.Accept("<"))
                {
                    int count = _ps.ParseInt(_ps.Next());
                    _ps.Expect(">");
                    for (int i = 0; i < count; i++)
                    {
                        Declare(scope, name + i.ToString(CultureInfo.InvariantCulture));
                    }
                }
                else
                {
                    Declare(scope, name);
                }
            }
            while (_ps.Accept(","));
            _ps.Expect(";");
        }

        private void Declare(Scope scope, string name)
        {
            scope.Regs[name] = _fn.RegisterNames.Count;
            _fn.RegisterNames.Add(name);
        }

        private bool TryRegister(string name, out int index)
        {
            for (int i = _scopes.Count - 1; i >= 0; i--)
            {
                if (_scopes[i].Regs.TryGetValue(name, out index))
                {
                    return true;
                }
            }
            // %SP / %SPL are declared by nvcc as .reg .b64; nothing implicit otherwise.
            index = -1;
            return false;
        }

        private void ParseInstruction()
        {
            var first = _ps.Peek();
            int guard = -1;
            bool negated = false;
            int startTok = _ps._p;
            if (_ps.Accept("@"))
            {
                negated = _ps.Accept("!");
                var g = _ps.Next();
                if (!TryRegister(g.Text, out guard))
                {
                    throw _ps.Error(g.Line, $"unknown predicate '{g.Text}'");
                }
            }
            var opTok = _ps.Next();
            if (opTok.Kind != PtxTokenKind.Ident)
            {
                throw _ps.Error(opTok.Line, $"expected an instruction, found '{opTok.Text}'");
            }
            if (!_ps._opcodeParts.TryGetValue(opTok.Text, out var parts))
            {
                parts = opTok.Text.Split('.');
                _ps._opcodeParts[opTok.Text] = parts;
            }
            var ops = new List<Operand>();
            if (_ps.Peek().Text != ";")
            {
                do
                {
                    var op = ParseOperand();
                    if (_ps.Accept("|"))
                    {
                        op = new Operand { Kind = OperandKind.Vector, Elems = [op, ParseOperand()], Name = "|" };
                    }
                    ops.Add(op);
                }
                while (_ps.Accept(","));
            }
            _ps.Expect(";");
            // The instruction as written, for messages: the source from its first token to the ';'.
            var firstTok = _ps._t[startTok];
            var semi = _ps._t[_ps._p - 1];
            string text = firstTok.Start >= 0 && semi.Start >= firstTok.Start
                ? _ps._source.Substring(firstTok.Start, semi.Start - firstTok.Start + 1).Replace('\t', ' ')
                : opTok.Text;
            var ins = new Instr
            {
                Opcode = opTok.Text,
                Base = parts[0],
                Parts = parts.Length == 1 ? [] : parts[1..],
                Ops = ops.ToArray(),
                Line = first.Line,
                Text = text,
                Guard = guard,
                GuardNegated = negated,
                LocFile = _locFile,
                LocLine = _locLine,
            };
            InstrDecoder.Decode(ins, _fn, _ps._origin);
            _fn.Code.Add(ins);
        }

        private Operand ParseOperand()
        {
            var tok = _ps.Peek();
            if (_ps.Accept("{"))
            {
                var elems = new List<Operand>();
                do
                {
                    elems.Add(ParseOperand());
                }
                while (_ps.Accept(","));
                _ps.Expect("}");
                return new Operand { Kind = OperandKind.Vector, Elems = elems.ToArray() };
            }
            if (_ps.Accept("["))
            {
                var mem = new Operand { Kind = OperandKind.Memory };
                var b = _ps.Peek();
                if (b.Kind == PtxTokenKind.Number || b.Text == "-")
                {
                    bool neg = _ps.Accept("-");
                    mem.Imm = _ps.ParseImmediate(_ps.Next(), PtxType.S64, neg);
                }
                else
                {
                    _ps.Next();
                    if (TryRegister(b.Text, out int reg))
                    {
                        mem.Reg = reg;
                    }
                    else
                    {
                        BindSymbol(mem, b);
                    }
                    while (_ps.Peek().Text is "+" or "-")
                    {
                        bool neg = _ps.Next().Text == "-";
                        neg ^= _ps.Accept("-");
                        mem.Imm += _ps.ParseImmediate(_ps.Next(), PtxType.S64, neg);
                    }
                    // The tensor operand of cp.async.bulk.tensor: [tensorMap, {c0, c1, ...}].
                    if (_ps.Accept(","))
                    {
                        var coords = ParseOperand();
                        mem.Elems = coords.Kind == OperandKind.Vector ? coords.Elems : [coords];
                    }
                }
                _ps.Expect("]");
                return mem;
            }
            if (_ps.Accept("!"))
            {
                var p = ParseOperand();
                p.Negate = true;
                return p;
            }
            if (tok.Text == "-" || tok.Kind == PtxTokenKind.Number)
            {
                bool neg = _ps.Accept("-");
                var num = _ps.Next();
                return new Operand { Kind = OperandKind.Imm, Literal = (neg ? "-" : "") + num.Text };
            }
            _ps.Next();
            if (tok.Text == "_")
            {
                return new Operand { Kind = OperandKind.Sink };
            }
            if (TryRegister(tok.Text, out int r))
            {
                return new Operand { Kind = OperandKind.Reg, Reg = r };
            }
            if (TrySpecial(tok.Text, out var special))
            {
                return new Operand { Kind = OperandKind.Special, Special = special };
            }
            var sym = new Operand { Kind = OperandKind.Symbol };
            BindSymbol(sym, tok);
            return sym;
        }

        private void BindSymbol(Operand op, PtxToken tok)
        {
            op.Name = tok.Text;
            if (_params.ContainsKey(tok.Text))
            {
                op.SymbolSpace = "param";
            }
            else if (_spaces.TryGetValue(tok.Text, out var space) || _ps._moduleSpaces.TryGetValue(tok.Text, out space))
            {
                op.SymbolSpace = space;
            }
            else
            {
                // A label (branch target); resolved when the body is done.
                op.Kind = OperandKind.Label;
                _pendingLabels.Add((op, tok.Text, tok.Line));
            }
        }

        /// <summary>Assigns shared, local and param offsets and patches symbol operands with them.</summary>
        private void Layout()
        {
            var used = new HashSet<string>(StringComparer.Ordinal);
            foreach (var ins in _fn.Code)
            {
                foreach (var op in ins.Ops)
                {
                    Collect(op, used);
                }
            }
            var offsets = new Dictionary<string, long>(StringComparer.Ordinal);
            long shared = 0;
            int maxExternAlign = 16;
            var all = _ps._module.Shared.Where(v => used.Contains(v.Name)).Concat(_shared).ToList();
            foreach (var v in all.Where(v => !v.IsExtern))
            {
                shared = (shared + v.Align - 1) / v.Align * v.Align;
                offsets[v.Name] = shared;
                shared += v.Size;
            }
            foreach (var v in all.Where(v => v.IsExtern))
            {
                maxExternAlign = Math.Max(maxExternAlign, v.Align);
            }
            long dyn = (shared + maxExternAlign - 1) / maxExternAlign * maxExternAlign;
            foreach (var v in all.Where(v => v.IsExtern))
            {
                offsets[v.Name] = dyn;
            }
            _fn.StaticSharedBytes = (int)shared;
            _fn.DynamicSharedOffset = (int)dyn;
            long local = 0;
            foreach (var v in _local)
            {
                local = (local + v.Align - 1) / v.Align * v.Align;
                offsets[v.Name] = local;
                local += v.Size;
            }
            _fn.LocalBytes = (int)((local + 15) / 16 * 16);
            foreach (var kv in _params)
            {
                offsets[kv.Key] = kv.Value;
            }
            foreach (var ins in _fn.Code)
            {
                foreach (var op in ins.Ops)
                {
                    Patch(op, offsets);
                }
            }
        }

        private static void Collect(Operand op, HashSet<string> used)
        {
            if (op.Name is { } n && op.SymbolSpace is not null)
            {
                used.Add(n);
            }
            foreach (var e in op.Elems)
            {
                Collect(e, used);
            }
        }

        private static void Patch(Operand op, Dictionary<string, long> offsets)
        {
            if (op.Name is { } n && op.SymbolSpace is "shared" or "local" or "param" && offsets.TryGetValue(n, out long off))
            {
                op.Imm += (ulong)off;
            }
            foreach (var e in op.Elems)
            {
                Patch(e, offsets);
            }
        }

        private static bool TrySpecial(string s, out SpecialReg r)
        {
            r = s switch
            {
                "%tid.x" => SpecialReg.TidX, "%tid.y" => SpecialReg.TidY, "%tid.z" => SpecialReg.TidZ,
                "%ntid.x" => SpecialReg.NtidX, "%ntid.y" => SpecialReg.NtidY, "%ntid.z" => SpecialReg.NtidZ,
                "%ctaid.x" => SpecialReg.CtaidX, "%ctaid.y" => SpecialReg.CtaidY, "%ctaid.z" => SpecialReg.CtaidZ,
                "%nctaid.x" => SpecialReg.NctaidX, "%nctaid.y" => SpecialReg.NctaidY, "%nctaid.z" => SpecialReg.NctaidZ,
                "%laneid" => SpecialReg.LaneId, "%warpid" => SpecialReg.WarpId, "%nwarpid" => SpecialReg.NWarpId,
                "%smid" => SpecialReg.SmId, "%nsmid" => SpecialReg.NSmId, "%clock" => SpecialReg.Clock, "%clock64" => SpecialReg.Clock64,
                "%globaltimer" => SpecialReg.GlobalTimer,
                "%lanemask_eq" => SpecialReg.LanemaskEq, "%lanemask_lt" => SpecialReg.LanemaskLt, "%lanemask_le" => SpecialReg.LanemaskLe,
                "%lanemask_gt" => SpecialReg.LanemaskGt, "%lanemask_ge" => SpecialReg.LanemaskGe,
                "%dynamic_smem_size" => SpecialReg.DynamicSmemSize, "%total_smem_size" => SpecialReg.TotalSmemSize,
                "WARP_SZ" => SpecialReg.WarpSize,
                _ => (SpecialReg)255,
            };
            return (byte)r != 255;
        }
    }

    internal ulong Immediate(string literal, PtxType type, int line)
    {
        bool neg = literal.StartsWith('-');
        return ParseImmediate(new PtxToken(PtxTokenKind.Number, neg ? literal[1..] : literal, line), type, neg);
    }

    internal static ulong ParseLiteral(string literal, PtxType type, string origin, int line)
    {
        var p = new PtxParser([], origin);
        return p.Immediate(literal, type, line);
    }
}
