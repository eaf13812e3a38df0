// A small helper the namespace tests run inside a namespace (`ip netns exec NS node agent.js MODE ...`):
//   udp-listen PORT [GROUP]    print one JSON line per datagram received ({from, text}); joins GROUP if given
//   tcp-listen HOST PORT...    answer every connection on each PORT with an HTTP/1.0 "hello from HOST" and close
//   udp-junk HOST PORT COUNT   send COUNT malformed or oversized datagrams, paced, then exit
// It prints "ready" once listening, so tests wait for that line instead of sleeping.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

const [mode, ...args] = process.argv.slice(2);

if (mode === 'udp-listen') {
  const [port, group] = args;
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  socket.on('message', (message, from) => {
    console.log(JSON.stringify({ from: from.address, fromPort: from.port, text: message.toString('latin1') }));
  });
  socket.bind(Number(port), '0.0.0.0', () => {
    if (group) socket.addMembership(group);
    console.log('ready');
  });
} else if (mode === 'tcp-listen') {
  const [host, ...ports] = args;
  let listening = 0;
  for (const port of ports) {
    createServer((socket) => socket.end(`HTTP/1.0 200 OK\r\n\r\nhello from ${host}\n`)).listen(
      Number(port),
      host,
      () => {
        if (++listening === ports.length) console.log('ready');
      },
    );
  }
} else if (mode === 'udp-junk') {
  const [host, port, count] = args;
  const socket = createSocket('udp4');
  const junk = [
    Buffer.from('M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n'),
    Buffer.alloc(4000, 0x41),
    Buffer.from('NOTIFY * HTTP/1.1\r\nUSN: \u0000\r\n\r\n'),
    Buffer.from([0xff, 0xfe, 0x00]),
  ];
  let sent = 0;
  const total = Number(count);
  const burst = () => {
    for (let i = 0; i < 20 && sent < total; i++, sent++) {
      socket.send(junk[sent % junk.length] as Buffer, Number(port), host);
    }
    if (sent < total) setTimeout(burst, 2);
    else setTimeout(() => socket.close(() => console.log(`sent ${sent}`)), 50);
  };
  burst();
} else {
  console.error('usage: agent.js udp-listen PORT [GROUP] | tcp-listen HOST PORT... | udp-junk HOST PORT COUNT');
  process.exit(2);
}
