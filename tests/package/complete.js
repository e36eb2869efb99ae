// Starts `MASKFILL serve` (argv[2]) on a free loopback port, asks it for one completion, prints
// the completion as JSON and stops the server. Plain Node (18+), no packages: it also runs in the
// clean bookworm chroot of tests/suites/package.sh.
const { spawn } = require('node:child_process');

const binary = process.argv[2];
const server = spawn(binary, ['serve', '--port', '0', '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] });
let log = '';
let asked = false;
const fail = (why) => {
  console.error(`${why}\n${log}`);
  server.kill('SIGKILL');
  process.exit(1);
};
server.on('exit', (code) => fail(`${binary} serve exited with ${code}`));
server.stderr.on('data', async (chunk) => {
  log += chunk;
  const url = /listening on (http:\/\/\S+)/.exec(log);
  if (!url || asked) return;
  asked = true;
  try {
    const answer = await fetch(`${url[1]}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'def add(a, b):\n    return ', max_tokens: 8 }),
    });
    const body = await answer.json();
    if (answer.status !== 200) fail(`HTTP ${answer.status}: ${JSON.stringify(body)}`);
    console.log(JSON.stringify(body.choices[0].text));
    server.removeAllListeners('exit');
    server.kill('SIGTERM');
  } catch (error) {
    fail(String(error));
  }
});
