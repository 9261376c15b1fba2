// A one-file WebSocket echo server in Perl (the lab host image has Perl, not Node), listening on the
// host's loopback only: the real-host test and the bench run it to show a WebSocket passing through.
export const WS_ECHO_PERL = String.raw`use strict; use IO::Socket::INET; use Digest::SHA qw(sha1); use MIME::Base64;
my $port = shift || 8081;
my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port, Listen => 16, ReuseAddr => 1) or die "listen: $!";
while (my $c = $srv->accept) {
  my $key = '';
  while (my $l = <$c>) { $key = $1 if $l =~ /^Sec-WebSocket-Key:\s*(\S+)/i; last if $l eq "\r\n"; }
  my $acc = encode_base64(sha1($key . '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'), '');
  print $c "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: $acc\r\n\r\n";
  $c->flush;
  while (1) {
    my $h; last unless read($c, $h, 2) == 2;
    my ($b1, $b2) = unpack('CC', $h); my $len = $b2 & 127;
    if ($len == 126) { my $x; read($c, $x, 2); $len = unpack('n', $x); }
    my $mask; read($c, $mask, 4); my $p = ''; read($c, $p, $len) if $len > 0;
    my @m = unpack('C4', $mask); my $i = 0;
    $p = join('', map { chr(ord($_) ^ $m[$i++ % 4]) } split(//, $p));
    last if ($b1 & 15) == 8;
    my $out = "echo $p"; my $n = length($out);
    print $c ($n < 126 ? pack('CC', 0x81, $n) : pack('CCn', 0x81, 126, $n)) . $out; $c->flush;
  }
  close $c;
}
`;
