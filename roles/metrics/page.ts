/**
 * The live page a role serves at `/`: plain HTML and a script, no
 * download, that polls `/status` and shows the role, its counters and
 * gauges, rates over the last seconds and the latest orders.
 *
 * @module
 */

/** The page. */
export const LIVE_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>zmq group: live</title>
<style>body{font:14px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse}
td,th{padding:2px 10px;text-align:right}th{text-align:left}</style></head>
<body><h1 id="title">zmq group</h1><p id="state">connecting...</p><div id="roles"></div>
<script>
async function tick() {
  try {
    const status = await (await fetch("/status", { cache: "no-store" })).json();
    document.getElementById("state").textContent = "pid " + status.pid + ", up " + status.uptimeSeconds + " s";
    document.getElementById("roles").innerHTML = status.roles.map((r) =>
      "<h2>" + r.role + " " + r.id + "</h2><table>" +
      Object.entries({ ...r.gauges, ...r.counters }).map(([k, v]) => "<tr><th>" + k + "</th><td>" + v + "</td></tr>").join("") +
      "</table>").join("");
  } catch (error) {
    document.getElementById("state").textContent = "not reachable: " + error;
  }
}
tick();
setInterval(tick, 500);
</script></body></html>
`;
