using Notify.Api;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddNotifyApi();

var app = builder.Build();
app.UseNotifyApi();
app.Run();

// Lets test hosts reference the API's entry point.
namespace Notify.Api
{
    public partial class Program;
}
