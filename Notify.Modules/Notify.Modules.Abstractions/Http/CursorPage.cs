using System.Buffers.Text;
using FluentValidation;

namespace Notify.Modules.Abstractions.Http;

/// <summary>One page of a list endpoint; pass <see cref="NextCursor"/> back as <c>cursor</c> for the next.</summary>
public sealed record CursorPage<T>(IReadOnlyList<T> Items, string? NextCursor);

/// <summary>Opaque cursors over UUIDv7 keys (which sort by creation time).</summary>
public static class Cursor
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 200;

    public static string Encode(Guid id) => Base64Url.EncodeToString(id.ToByteArray(bigEndian: true));

    public static bool TryDecode(string? cursor, out Guid id)
    {
        id = Guid.Empty;
        if (string.IsNullOrEmpty(cursor))
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[16];
        if (!Base64Url.TryDecodeFromChars(cursor, bytes, out var written) || written != 16)
        {
            return false;
        }

        id = new Guid(bytes, bigEndian: true);
        return true;
    }

    /// <summary>Turns the rows read with <c>limit + 1</c> into a page and the cursor after its last item.</summary>
    public static CursorPage<TOut> ToPage<TIn, TOut>(IReadOnlyList<TIn> rows, int limit, Func<TIn, Guid> key, Func<TIn, TOut> map)
    {
        var items = rows.Take(limit).Select(map).ToList();
        var next = rows.Count > limit ? Encode(key(rows[limit - 1])) : null;
        return new CursorPage<TOut>(items, next);
    }
}

/// <summary>Query parameters every list endpoint takes: <c>?limit=&amp;cursor=</c>.</summary>
public abstract record PagedRequest
{
    [FastEndpoints.QueryParam] public string? Cursor { get; init; }
    [FastEndpoints.QueryParam] public int Limit { get; init; } = Http.Cursor.DefaultLimit;
}

public static class PagedRequestValidation
{
    /// <summary>Adds the paging rules (limit range, a cursor this API issued) to a list endpoint's validator.</summary>
    public static void AddPagingRules<T>(this AbstractValidator<T> validator) where T : PagedRequest
    {
        validator.RuleFor(x => x.Limit).InclusiveBetween(1, Cursor.MaxLimit);
        validator.RuleFor(x => x.Cursor).Must(c => c is null || Cursor.TryDecode(c, out _))
            .WithMessage("cursor is not a value returned as nextCursor by this endpoint.");
    }
}
