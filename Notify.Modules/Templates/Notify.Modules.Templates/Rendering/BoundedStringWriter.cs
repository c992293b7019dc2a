using System.Globalization;
using System.Text;

namespace Notify.Modules.Templates.Rendering;

/// <summary>
/// A StringWriter that refuses to grow past a limit. MaxSteps stops endless loops, but a few hundred steps that
/// each write a long string can still produce gigabytes; this stops them at the first character too many.
/// </summary>
internal sealed class BoundedStringWriter(int maxLength, int initialCapacity)
    : StringWriter(new StringBuilder(Math.Min(initialCapacity, maxLength)), CultureInfo.InvariantCulture)
{
    public override void Write(char value)
    {
        Ensure(1);
        base.Write(value);
    }

    public override void Write(char[] buffer, int index, int count)
    {
        Ensure(count);
        base.Write(buffer, index, count);
    }

    public override void Write(ReadOnlySpan<char> buffer)
    {
        Ensure(buffer.Length);
        base.Write(buffer);
    }

    public override void Write(string? value)
    {
        Ensure(value?.Length ?? 0);
        base.Write(value);
    }

    public override void Write(StringBuilder? value)
    {
        Ensure(value?.Length ?? 0);
        base.Write(value);
    }

    private void Ensure(int more)
    {
        if (GetStringBuilder().Length + more > maxLength)
        {
            throw new InvalidOperationException($"The rendered text is longer than {maxLength} characters.");
        }
    }
}
