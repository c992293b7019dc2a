using Microsoft.AspNetCore.Http;
using Notify.Modules.Abstractions.Http;

namespace Notify.Modules.Access.Authentication;

/// <summary>Per-key rate limit shared by every API replica (<see cref="RequestBudget"/>): the key's tenant's <c>rateLimitPerMinute</c>.</summary>
internal sealed class RateLimitMiddleware(RequestDelegate next, RequestBudget budget)
{
    public const string IdentityItem = "notify:api-key-identity";

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Items[IdentityItem] is not ApiKeyIdentity identity
            || await budget.TryTakeAsync(context, identity.KeyId.ToString("N"), identity.RateLimitPerMinute, "This API key"))
        {
            await next(context);
        }
    }
}
