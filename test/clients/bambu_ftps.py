#!/usr/bin/python3
"""An FTPS client written the way Home Assistant's Bambu integration (ha-bambulab's pybambu) and the
bambulabs_api library write theirs: Python's ftplib, implicit TLS on the control connection, TLS 1.2, and
a data connection that is wrapped in TLS only after the server's `150` (ftplib's ntransfercmd reads the
preliminary reply before it returns the socket), resuming the control connection's TLS session.

This is client code of the real kind, for end-to-end tests of Moat and of the printer-side servers; it is
not a Moat helper and imports nothing of Moat's.

Usage: bambu_ftps.py --host H --port P --password CODE [--cafile F] [--no-reuse] [--tls-before-150]
                     OPERATION [ARGS...]
Operations (each prints one JSON line on success; an FTP error reply prints {"error": "..."} and exits 2):
  list [PATH]              LIST, the raw lines
  nlst [PATH]              NLST, the names
  upload LOCAL REMOTE      STOR
  download REMOTE LOCAL    RETR
  delete REMOTE            DELE
  rename FROM TO           RNFR/RNTO
  mdtm REMOTE              MDTM
  size REMOTE              SIZE
  cwd PATH                 CWD then PWD
"""

import argparse
import ftplib
import json
import socket
import ssl
import sys


class ImplicitFtpTls(ftplib.FTP_TLS):
    """ftplib's FTP_TLS speaks explicit TLS (AUTH TLS); printers speak implicit TLS on 990, so the control
    socket is wrapped as soon as it is set, as the Bambu integrations do."""

    def __init__(self, *args, reuse_session=True, tls_before_150=False, **kwargs):
        super().__init__(*args, **kwargs)
        self._sock = None
        self.reuse_session = reuse_session
        self.tls_before_150 = tls_before_150

    @property
    def sock(self):
        return self._sock

    @sock.setter
    def sock(self, value):
        if value is not None and not isinstance(value, ssl.SSLSocket):
            value = self.context.wrap_socket(value, server_hostname=self.host)
        self._sock = value

    def ntransfercmd(self, cmd, rest=None):
        if self.tls_before_150:
            return self._ntransfercmd_tls_first(cmd)
        # ftplib connects, sends the command and waits for 150 before it returns the plain socket.
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            session = self.sock.session if self.reuse_session else None
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=session)
        return conn, size

    def _ntransfercmd_tls_first(self, cmd):
        """The other order, as curl does it: connect, handshake, then the command."""
        host, port = self.makepasv()
        conn = socket.create_connection((host, port), self.timeout)
        session = self.sock.session if self.reuse_session else None
        conn = self.context.wrap_socket(conn, server_hostname=self.host, session=session)
        resp = self.sendcmd(cmd)
        if resp[0] != '1':
            raise ftplib.error_reply(resp)
        return conn, None

    def storbinary(self, cmd, fp, blocksize=8192, callback=None, rest=None):
        # As the integrations do: no TLS shutdown on the data socket (printers do not close it cleanly).
        self.voidcmd('TYPE I')
        with self.transfercmd(cmd, rest) as conn:
            while True:
                buf = fp.read(blocksize)
                if not buf:
                    break
                conn.sendall(buf)
                if callback:
                    callback(buf)
        return self.voidresp()


def context_for(cafile):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    # ha-bambulab checks the chain against the CAs it ships, without a host-name check.
    context.check_hostname = False
    if cafile:
        context.load_verify_locations(cafile)
        context.verify_mode = ssl.CERT_REQUIRED
    else:
        context.verify_mode = ssl.CERT_NONE
    return context


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--host', required=True)
    parser.add_argument('--port', type=int, default=990)
    parser.add_argument('--user', default='bblp')
    parser.add_argument('--password', required=True)
    parser.add_argument('--cafile')
    parser.add_argument('--timeout', type=float, default=20)
    parser.add_argument('--no-reuse', action='store_true')
    parser.add_argument('--tls-before-150', action='store_true')
    parser.add_argument('--epsv', action='store_true', help='use EPSV instead of PASV')
    parser.add_argument('operation')
    parser.add_argument('args', nargs='*')
    options = parser.parse_args()

    ftp = ImplicitFtpTls(
        context=context_for(options.cafile),
        timeout=options.timeout,
        reuse_session=not options.no_reuse,
        tls_before_150=options.tls_before_150,
    )
    try:
        ftp.connect(options.host, options.port, timeout=options.timeout)
        ftp.login(options.user, options.password)
        ftp.prot_p()
        ftp.set_pasv(True)
        if options.epsv:
            ftp.af = socket.AF_INET6  # makes ftplib send EPSV; the reply's port is used with the control host
        op, args = options.operation, options.args
        if op == 'list':
            lines = []
            ftp.retrlines('LIST' + (' ' + args[0] if args else ''), lines.append)
            result = {'lines': lines}
        elif op == 'nlst':
            result = {'names': ftp.nlst(*args)}
        elif op == 'upload':
            with open(args[0], 'rb') as source:
                result = {'reply': ftp.storbinary('STOR ' + args[1], source)}
        elif op == 'download':
            with open(args[1], 'wb') as target:
                result = {'reply': ftp.retrbinary('RETR ' + args[0], target.write)}
        elif op == 'delete':
            result = {'reply': ftp.delete(args[0])}
        elif op == 'rename':
            result = {'reply': ftp.rename(args[0], args[1])}
        elif op == 'mdtm':
            result = {'reply': ftp.sendcmd('MDTM ' + args[0])}
        elif op == 'size':
            result = {'size': ftp.size(args[0])}
        elif op == 'cwd':
            ftp.cwd(args[0])
            result = {'pwd': ftp.pwd()}
        else:
            parser.error('unknown operation ' + op)
        print(json.dumps(result))
        try:
            ftp.quit()
        except (ftplib.Error, OSError):
            ftp.close()
    except ftplib.Error as error:
        print(json.dumps({'error': str(error)}))
        sys.exit(2)
    except (OSError, EOFError) as error:
        print(json.dumps({'error': '%s: %s' % (type(error).__name__, error)}))
        sys.exit(3)


if __name__ == '__main__':
    main()
