using System.Text;

namespace Zoetrope.Runtime.Execution;

/// <summary>
/// A readable name for a kernel's mangled device name, for tables: the Itanium nested name
/// (<c>_ZN2zt5flash12flash_kernelI...E...</c> becomes <c>zt::flash::flash_kernel&lt;…&gt;</c>);
/// anonymous namespaces and template arguments are abbreviated. Names that are not mangled
/// (<c>axpy</c>, ILGPU's <c>Kernel_RowKernel</c>) are returned as they are.
/// </summary>
internal static class KernelName
{
    /// <summary>The short form of <paramref name="mangled"/>.</summary>
    public static string Short(string mangled)
    {
        ArgumentNullException.ThrowIfNull(mangled);
        if (!mangled.StartsWith("_Z", StringComparison.Ordinal))
        {
            return mangled;
        }
        int i = 2;
        bool nested = i < mangled.Length && mangled[i] == 'N';
        if (nested)
        {
            i++;
        }
        var parts = new List<string>();
        bool template = false;
        while (i < mangled.Length && char.IsDigit(mangled[i]))
        {
            int len = 0;
            while (i < mangled.Length && char.IsDigit(mangled[i]))
            {
                len = (len * 10) + (mangled[i++] - '0');
            }
            if (len <= 0 || i + len > mangled.Length)
            {
                return mangled;
            }
            string id = mangled.Substring(i, len);
            i += len;
            parts.Add(id.StartsWith("_GLOBAL__N", StringComparison.Ordinal) ? "(anon)" : id);
            if (!nested)
            {
                break;
            }
            if (i < mangled.Length && mangled[i] == 'I')
            {
                template = true;
                break;
            }
        }
        if (parts.Count == 0)
        {
            return mangled;
        }
        var sb = new StringBuilder(string.Join("::", parts.Where(p => p != "(anon)")));
        if (template || (i < mangled.Length && mangled[i] == 'I'))
        {
            sb.Append("<…>");
        }
        return sb.ToString();
    }
}
