using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace Notify.Modules.Abstractions.Http;

/// <summary>RFC 9457 problem details written outside an endpoint (authentication, rate limiting).</summary>
public static class Problems
{
    /// <summary>Base of the stable <c>type</c> URIs; the part after it names the problem.</summary>
    public const string TypeBase = "https://notify.dev/problems/";

    public static async Task WriteAsync(HttpContext context, int status, string title, string detail, string type)
    {
        context.Response.StatusCode = status;
        var problem = new ProblemDetails
        {
            Status = status,
            Title = title,
            Detail = detail,
            Type = TypeBase + type,
            Instance = context.Request.Path,
        };
        problem.Extensions["traceId"] = context.TraceIdentifier;
        var service = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await service.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem });
    }
}

/// <summary>Problem results returned by endpoints, with stable <c>type</c>s.</summary>
public static class ProblemResults
{
    /// <summary>401 for callers that authenticate by signature rather than an API key (provider callbacks).</summary>
    public static IResult Unauthorized(string detail) => Create(StatusCodes.Status401Unauthorized, "Unauthorized", detail, "unauthorized");

    public static IResult NotFound(string detail) => Create(StatusCodes.Status404NotFound, "Not found", detail, "not-found");

    public static IResult Conflict(string detail) => Create(StatusCodes.Status409Conflict, "Conflict", detail, "conflict");

    /// <summary>422: the request is well-formed but breaks a rule; <paramref name="extensions"/> carries details such as field errors.</summary>
    public static IResult Unprocessable(string detail, IDictionary<string, object?>? extensions = null) =>
        Create(StatusCodes.Status422UnprocessableEntity, "Unprocessable request", detail, "unprocessable", extensions);

    /// <summary>422 about one field, with the field error in <c>errors</c> as validation problems have it.</summary>
    public static IResult UnprocessableField(string field, string detail) =>
        Unprocessable(detail, new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [field] = [detail] } });

    private static IResult Create(int status, string title, string detail, string type, IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title, type: Problems.TypeBase + type, extensions: extensions);
}
