using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Notify.Modules.Abstractions.Data;

public static class DatabaseErrors
{
    /// <summary>Whether the save failed on a unique key: another row with that key exists, or was inserted meanwhile.</summary>
    public static bool IsUniqueViolation(this DbUpdateException ex) =>
        ex.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };
}
