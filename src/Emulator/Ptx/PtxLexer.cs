namespace Zoetrope.Emulator.Ptx;

/// <summary>
/// Splits PTX text into tokens with line numbers. Identifiers keep their dots, so an opcode
/// (<c>ld.global.nc.v4.u32</c>), a directive (<c>.reg</c>) and a special register
/// (<c>%tid.x</c>) are each one token; comments are dropped.
/// </summary>
internal static class PtxLexer
{
    public static List<PtxToken> Tokenize(string text, string origin)
    {
        var tokens = new List<PtxToken>(text.Length / 4);
        int line = 1;
        int i = 0;
        int n = text.Length;
        while (i < n)
        {
            char c = text[i];
            if (c == '\n')
            {
                line++;
                i++;
                continue;
            }
            if (c is ' ' or '\t' or '\r' || char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }
            if (c == '/' && i + 1 < n && text[i + 1] == '/')
            {
                while (i < n && text[i] != '\n')
                {
                    i++;
                }
                continue;
            }
            if (c == '/' && i + 1 < n && text[i + 1] == '*')
            {
                i += 2;
                while (i + 1 < n && !(text[i] == '*' && text[i + 1] == '/'))
                {
                    if (text[i] == '\n')
                    {
                        line++;
                    }
                    i++;
                }
                i += 2;
                continue;
            }
            int start = i;
            if (c == '"')
            {
                i++;
                while (i < n && text[i] != '"')
                {
                    i++;
                }
                i++;
                tokens.Add(new PtxToken(PtxTokenKind.String, text[(start + 1)..(i - 1)], line, start));
                continue;
            }
            if (char.IsDigit(c))
            {
                // 0f3F800000, 0d..., 0x..., decimal, with an optional U suffix.
                i++;
                while (i < n && (char.IsLetterOrDigit(text[i]) || text[i] == '.'))
                {
                    i++;
                }
                tokens.Add(new PtxToken(PtxTokenKind.Number, text[start..i], line, start));
                continue;
            }
            if (IsIdentStart(c))
            {
                i++;
                while (i < n && (IsIdentPart(text[i]) || text[i] == '.'
                    // PTX 8's qualified modifiers (.shared::cta, .mbarrier::complete_tx::bytes) stay
                    // inside the opcode; a label's single ':' does not.
                    || (text[i] == ':' && i + 2 < n && text[i + 1] == ':' && IsIdentPart(text[i + 2]))))
                {
                    i += text[i] == ':' ? 2 : 1;
                }
                tokens.Add(new PtxToken(PtxTokenKind.Ident, Intern(text, start, i - start), line, start));
                continue;
            }
            if (c < 128 && Punct[c] is { } punct)
            {
                i++;
                tokens.Add(new PtxToken(PtxTokenKind.Punct, punct, line, start));
                continue;
            }
            throw new EmulatorException(EmuError.InvalidPtx, $"{origin}:{line}: unexpected character '{c}' in PTX");
        }
        return tokens;
    }

    // One string per punctuation character, so a token costs no allocation.
    private static readonly string?[] Punct = BuildPunct();

    private static string?[] BuildPunct()
    {
        var table = new string?[128];
        foreach (char p in "{}[]();,:<>@!|+-=*")
        {
            table[p] = p.ToString();
        }
        return table;
    }

    // Opcodes and register names repeat thousands of times: share their strings.
    [ThreadStatic]
    private static Dictionary<string, string>? _interned;

    private static string Intern(string text, int start, int length)
    {
        _interned ??= new Dictionary<string, string>(StringComparer.Ordinal);
        var lookup = _interned.GetAlternateLookup<ReadOnlySpan<char>>();
        var span = text.AsSpan(start, length);
        if (lookup.TryGetValue(span, out var s))
        {
            return s;
        }
        s = span.ToString();
        if (_interned.Count < 1 << 16)
        {
            _interned[s] = s;
        }
        return s;
    }

    private static bool IsIdentStart(char c) => char.IsLetter(c) || c is '_' or '$' or '%' or '.';

    private static bool IsIdentPart(char c) => char.IsLetterOrDigit(c) || c is '_' or '$';
}

/// <summary>Token kinds.</summary>
internal enum PtxTokenKind
{
    Ident,
    Number,
    String,
    Punct,
}

/// <summary>A token and the line it starts on.</summary>
internal readonly record struct PtxToken(PtxTokenKind Kind, string Text, int Line, int Start = -1)
{
    public bool Is(string s) => Text == s;
}
