using System.Globalization;
using System.Text;

namespace Zoetrope.Runtime.IO;

/// <summary>
/// Parses the Python literal of an .npy header: a dict of strings, booleans, integers, tuples and
/// lists (nothing else appears in one). Values come back as string, bool, long, or
/// <see cref="List{T}"/> of values; dicts as <see cref="Dictionary{TKey,TValue}"/>. Every error
/// names the file and the absolute byte offset.
/// </summary>
internal sealed class PyLiteral
{
    private readonly string _text;
    private readonly string _file;
    private readonly long _baseOffset;
    private int _pos;

    private PyLiteral(string text, string file, long baseOffset)
    {
        _text = text;
        _file = file;
        _baseOffset = baseOffset;
    }

    /// <summary>Parses <paramref name="text"/>, which starts at byte <paramref name="baseOffset"/> of <paramref name="file"/>.</summary>
    public static object Parse(string text, string file, long baseOffset)
    {
        var p = new PyLiteral(text, file, baseOffset);
        var value = p.Value(depth: 0);
        p.SkipSpace();
        if (p._pos != p._text.Length)
        {
            throw p.Error($"unexpected '{p._text[p._pos]}' after the header's dict");
        }
        return value;
    }

    private object Value(int depth)
    {
        if (depth > 16)
        {
            throw Error("header literal nested too deeply");
        }
        SkipSpace();
        if (_pos >= _text.Length)
        {
            throw Error("header ends inside a literal");
        }
        char c = _text[_pos];
        switch (c)
        {
            case '{':
                return Dict(depth);
            case '(':
                return Sequence('(', ')', depth);
            case '[':
                return Sequence('[', ']', depth);
            case '\'':
            case '"':
                return Str();
            default:
                if (char.IsDigit(c) || c == '-' || c == '+')
                {
                    return Int();
                }
                if (Word("True"))
                {
                    return true;
                }
                if (Word("False"))
                {
                    return false;
                }
                if (Word("None"))
                {
                    return "None";
                }
                throw Error($"unexpected '{c}' in the header");
        }
    }

    private Dictionary<string, object> Dict(int depth)
    {
        _pos++;
        var d = new Dictionary<string, object>(StringComparer.Ordinal);
        while (true)
        {
            SkipSpace();
            if (Peek('}'))
            {
                _pos++;
                return d;
            }
            int keyAt = _pos;
            if (Value(depth + 1) is not string key)
            {
                _pos = keyAt;
                throw Error("header dict keys must be strings");
            }
            SkipSpace();
            Expect(':');
            var v = Value(depth + 1);
            if (!d.TryAdd(key, v))
            {
                _pos = keyAt;
                throw Error($"header key '{key}' appears twice");
            }
            SkipSpace();
            if (Peek(','))
            {
                _pos++;
            }
            else if (!Peek('}'))
            {
                throw Error("expected ',' or '}' in the header dict");
            }
        }
    }

    private List<object> Sequence(char open, char close, int depth)
    {
        _pos++;
        var items = new List<object>();
        while (true)
        {
            SkipSpace();
            if (Peek(close))
            {
                _pos++;
                return items;
            }
            items.Add(Value(depth + 1));
            SkipSpace();
            if (Peek(','))
            {
                _pos++;
            }
            else if (!Peek(close))
            {
                throw Error($"expected ',' or '{close}' after an item opened by '{open}'");
            }
        }
    }

    private string Str()
    {
        char quote = _text[_pos++];
        var sb = new StringBuilder();
        while (_pos < _text.Length && _text[_pos] != quote)
        {
            if (_text[_pos] == '\\' && _pos + 1 < _text.Length)
            {
                _pos++;
            }
            sb.Append(_text[_pos++]);
        }
        if (_pos >= _text.Length)
        {
            throw Error("unterminated string in the header");
        }
        _pos++;
        return sb.ToString();
    }

    private long Int()
    {
        int start = _pos;
        if (_text[_pos] is '-' or '+')
        {
            _pos++;
        }
        while (_pos < _text.Length && char.IsDigit(_text[_pos]))
        {
            _pos++;
        }
        // Python 2 era headers may write 3L.
        string digits = _text[start.._pos];
        if (_pos < _text.Length && _text[_pos] == 'L')
        {
            _pos++;
        }
        if (!long.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
        {
            _pos = start;
            throw Error($"'{digits}' is not an integer that fits 64 bits");
        }
        return v;
    }

    private bool Word(string w)
    {
        if (string.CompareOrdinal(_text, _pos, w, 0, w.Length) == 0)
        {
            _pos += w.Length;
            return true;
        }
        return false;
    }

    private void Expect(char c)
    {
        if (!Peek(c))
        {
            throw Error($"expected '{c}' in the header");
        }
        _pos++;
    }

    private bool Peek(char c) => _pos < _text.Length && _text[_pos] == c;

    private void SkipSpace()
    {
        while (_pos < _text.Length && char.IsWhiteSpace(_text[_pos]))
        {
            _pos++;
        }
    }

    private ZoetropeFormatException Error(string message) =>
        new(_file, _baseOffset + Encoding.UTF8.GetByteCount(_text.AsSpan(0, Math.Min(_pos, _text.Length))), message);
}
