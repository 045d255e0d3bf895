//! Running `kdig` / `dig` inside a namespace and parsing their text output.
//!
//! The suites query the server with independent, widely used clients so that a bug shared by
//! lbdns and this crate's own wire code cannot hide. kdig 3.2 has no JSON output, so the
//! presentation format of both tools is parsed here (only the parts the assertions need).

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::env::run_bounded;
use crate::netns::{Namespace, Topology};

/// Which client binary to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Kdig,
    Dig,
}

/// One question plus transport options.
#[derive(Debug, Clone)]
pub struct Query {
    pub name: String,
    pub rtype: String,
    pub tcp: bool,
    /// `Some(size)` sends EDNS(0) with that UDP payload size; `None` sends no OPT record.
    pub edns: Option<u16>,
    /// Extra raw arguments for the tool (e.g. `"+edns=1"`).
    pub extra: Vec<String>,
}

impl Query {
    /// A UDP query without EDNS.
    pub fn new(name: &str, rtype: &str) -> Self {
        Self {
            name: name.to_string(),
            rtype: rtype.to_string(),
            tcp: false,
            edns: None,
            extra: Vec::new(),
        }
    }
    /// Use TCP.
    pub fn tcp(mut self) -> Self {
        self.tcp = true;
        self
    }
    /// Send EDNS(0) advertising `size`.
    pub fn edns(mut self, size: u16) -> Self {
        self.edns = Some(size);
        self
    }
    /// Pass an extra argument to the tool.
    pub fn arg(mut self, a: &str) -> Self {
        self.extra.push(a.to_string());
        self
    }

    fn tool_args(&self, tool: Tool) -> Vec<String> {
        let mut v = Vec::new();
        if self.tcp {
            v.push("+tcp".to_string());
        }
        match (tool, self.edns) {
            (Tool::Kdig, Some(n)) => v.extend(["+edns=0".to_string(), format!("+bufsize={n}")]),
            (Tool::Dig, Some(n)) => v.extend(["+edns=0".to_string(), format!("+bufsize={n}")]),
            (_, None) => v.push("+noedns".to_string()),
        }
        if tool == Tool::Dig {
            v.push("+nocookie".to_string());
        }
        v.extend(self.extra.iter().cloned());
        v.extend([
            "-q".to_string(),
            self.name.clone(),
            "-t".to_string(),
            self.rtype.clone(),
        ]);
        v
    }
}

/// A resource record line, as printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub ttl: u32,
    pub class: String,
    pub rtype: String,
    /// RDATA fields joined by single spaces.
    pub rdata: String,
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (n, t, c, ty, r) = (&self.name, self.ttl, &self.class, &self.rtype, &self.rdata);
        write!(f, "{n} {t} {c} {ty} {r}")
    }
}

/// One parsed response.
#[derive(Debug, Clone, Default)]
pub struct DigResponse {
    pub id: u16,
    pub opcode: String,
    /// `NOERROR`, `NXDOMAIN`, `REFUSED`, `FORMERR`, `BADVERS`, ...
    pub rcode: String,
    /// Lower-case header flags: `qr`, `aa`, `tc`, `rd`, `ra`, ...
    pub flags: Vec<String>,
    /// Question entries (ttl 0, empty rdata); the name keeps the case the server sent.
    pub question: Vec<Record>,
    pub answer: Vec<Record>,
    pub authority: Vec<Record>,
    pub additional: Vec<Record>,
    /// UDP payload size from the response's OPT record, if it had one.
    pub edns_udp: Option<u16>,
    pub edns_version: Option<u8>,
    /// The tool's text for this response, for failure messages.
    pub text: String,
}

impl DigResponse {
    pub fn has_flag(&self, f: &str) -> bool {
        self.flags.iter().any(|x| x.eq_ignore_ascii_case(f))
    }
    /// RDATA of the answer records of type `rtype`, in order.
    pub fn answer_rdata(&self, rtype: &str) -> Vec<String> {
        self.answer
            .iter()
            .filter(|r| r.rtype.eq_ignore_ascii_case(rtype))
            .map(|r| r.rdata.clone())
            .collect()
    }
}

impl fmt::Display for DigResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let lower = line.to_ascii_lowercase();
    let i = lower.find(&key.to_ascii_lowercase())?;
    Some(line[i + key.len()..].trim_start())
}

/// The token after `key` up to the next `;`, `,` or whitespace.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = after(line, key)?;
    let end = rest
        .find(|c: char| c == ';' || c == ',' || c.is_whitespace())
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

fn parse_record(line: &str) -> Option<Record> {
    let mut it = line.split_whitespace();
    let name = it.next()?.to_string();
    let ttl = it.next()?.parse().ok()?;
    let class = it.next()?.to_string();
    let rtype = it.next()?.to_string();
    let rdata = it.collect::<Vec<_>>().join(" ");
    Some(Record {
        name,
        ttl,
        class,
        rtype,
        rdata,
    })
}

/// Parses every response in kdig or dig output (several with `+keepopen` or many questions).
pub fn parse_output(text: &str) -> Vec<DigResponse> {
    #[derive(PartialEq)]
    enum Sec {
        None,
        Question,
        Answer,
        Authority,
        Additional,
    }
    let mut out: Vec<DigResponse> = Vec::new();
    let mut sec = Sec::None;
    for line in text.lines() {
        let t = line.trim();
        if t.contains("->>HEADER<<-") {
            out.push(DigResponse {
                opcode: field(t, "opcode:").unwrap_or_default().to_string(),
                rcode: field(t, "status:").unwrap_or_default().to_string(),
                id: field(t, "id:").and_then(|s| s.parse().ok()).unwrap_or(0),
                ..Default::default()
            });
            sec = Sec::None;
        }
        let Some(cur) = out.last_mut() else { continue };
        cur.text.push_str(line);
        cur.text.push('\n');
        let lower = t.to_ascii_lowercase();
        if lower.starts_with(";; flags:") {
            let f = after(t, "flags:").unwrap_or_default();
            let f = &f[..f.find(';').unwrap_or(f.len())];
            cur.flags = f.split_whitespace().map(str::to_ascii_lowercase).collect();
        } else if lower.starts_with(";; version:") {
            // kdig: ";; Version: 0; flags: ; UDP size: 1232 B; ext-rcode: NOERROR"
            cur.edns_version = field(t, "version:").and_then(|v| v.parse().ok());
            cur.edns_udp = field(t, "udp size:").and_then(|v| v.parse().ok());
        } else if lower.starts_with("; edns:") {
            // dig: "; EDNS: version: 0, flags:; udp: 1232"
            cur.edns_version = field(t, "version:").and_then(|v| v.parse().ok());
            cur.edns_udp = field(t, "udp:").and_then(|v| v.parse().ok());
        } else if lower.ends_with("section:") {
            sec = match lower.trim_start_matches(';').trim() {
                "question section:" => Sec::Question,
                "answer section:" => Sec::Answer,
                "authority section:" => Sec::Authority,
                "additional section:" => Sec::Additional,
                _ => Sec::None,
            };
        } else if t.is_empty() {
            continue;
        } else if sec == Sec::Question && t.starts_with(';') {
            let mut it = t.trim_start_matches(';').split_whitespace();
            if let (Some(name), Some(class), Some(rtype)) = (it.next(), it.next(), it.next()) {
                cur.question.push(Record {
                    name: name.to_string(),
                    ttl: 0,
                    class: class.to_string(),
                    rtype: rtype.to_string(),
                    rdata: String::new(),
                });
            }
        } else if !t.starts_with(';') {
            if let Some(r) = parse_record(t) {
                match sec {
                    Sec::Answer => cur.answer.push(r),
                    Sec::Authority => cur.authority.push(r),
                    Sec::Additional => cur.additional.push(r),
                    Sec::None | Sec::Question => {}
                }
            }
        }
    }
    out
}

/// Bound on one tool run: timeouts below are 2 s x 3 tries per query.
const TOOL_TIMEOUT: Duration = Duration::from_secs(30);

fn run_tool(
    tool: Tool,
    ns: &Namespace,
    server: SocketAddr,
    queries: &[Query],
    common: &[&str],
) -> Result<Vec<DigResponse>> {
    let (bin, retry) = match tool {
        Tool::Kdig => ("kdig", ["+timeout=2", "+retry=2"]),
        Tool::Dig => ("dig", ["+time=2", "+tries=3"]),
    };
    let mut cmd = ns.command(bin);
    cmd.arg(format!("@{}", server.ip()))
        .args(["-p", &server.port().to_string()])
        .args(retry)
        .args(common);
    for q in queries {
        cmd.args(q.tool_args(tool));
    }
    let desc = format!("{cmd:?}");
    let out = run_bounded(&mut cmd, TOOL_TIMEOUT)?;
    let responses = parse_output(&out.stdout);
    if responses.len() != queries.len() {
        bail!(
            "{desc}: expected {} response(s), parsed {} ({})\nstdout:\n{}\nstderr:\n{}",
            queries.len(),
            responses.len(),
            out.status,
            out.stdout,
            out.stderr
        );
    }
    Ok(responses)
}

/// Runs one query with `tool` from namespace `ns` against `server`.
pub fn query(tool: Tool, ns: &Namespace, server: SocketAddr, q: &Query) -> Result<DigResponse> {
    run_tool(tool, ns, server, std::slice::from_ref(q), &[])
        .map(|mut v| v.remove(0))
        .with_context(|| format!("{tool:?} {} {}", q.name, q.rtype))
}

/// Sends all `queries` over one TCP connection (`kdig +tcp +keepopen`) and returns the
/// responses in order. Per-query `tcp` flags are irrelevant here.
pub fn kdig_keepopen(
    ns: &Namespace,
    server: SocketAddr,
    queries: &[Query],
) -> Result<Vec<DigResponse>> {
    run_tool(Tool::Kdig, ns, server, queries, &["+tcp", "+keepopen"])
}

impl Topology {
    /// `kdig` from the client namespace.
    pub fn kdig(&self, server: SocketAddr, q: &Query) -> Result<DigResponse> {
        query(Tool::Kdig, &self.client, server, q)
    }
    /// `dig` from the client namespace.
    pub fn dig(&self, server: SocketAddr, q: &Query) -> Result<DigResponse> {
        query(Tool::Dig, &self.client, server, q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KDIG: &str = ";; ->>HEADER<<- opcode: QUERY; status: NOERROR; id: 49021
;; Flags: qr aa rd; QUERY: 1; ANSWER: 2; AUTHORITY: 0; ADDITIONAL: 1

;; EDNS PSEUDOSECTION:
;; Version: 0; flags: ; UDP size: 1232 B; ext-rcode: NOERROR

;; QUESTION SECTION:
;; wWw.example.com.    \t\tIN\tA

;; ANSWER SECTION:
www.example.com.    \t60\tIN\tA\t198.18.1.1
www.example.com.    \t60\tIN\tA\t198.18.1.2

;; Received 204 B
";

    const DIG: &str = ";; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 29812
;; flags: qr aa rd; QUERY: 1, ANSWER: 0, AUTHORITY: 1, ADDITIONAL: 1

;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags:; udp: 1232
;; QUESTION SECTION:
;nope.example.com.\t\tIN\tA

;; AUTHORITY SECTION:
example.com.\t60\tIN\tSOA\tns1.example.com. hostmaster.example.com. 1 2 3 4 60
";

    #[test]
    fn parses_kdig() {
        let r = &parse_output(KDIG)[0];
        assert_eq!((r.id, r.rcode.as_str()), (49021, "NOERROR"));
        assert!(r.has_flag("aa") && !r.has_flag("tc"));
        assert_eq!(r.edns_udp, Some(1232));
        assert_eq!(r.question[0].name, "wWw.example.com.");
        assert_eq!(r.answer_rdata("A"), ["198.18.1.1", "198.18.1.2"]);
    }

    #[test]
    fn parses_dig() {
        let r = &parse_output(DIG)[0];
        assert_eq!(r.rcode, "NXDOMAIN");
        assert_eq!(r.edns_udp, Some(1232));
        assert_eq!(r.question[0].rtype, "A");
        assert_eq!(r.authority[0].rtype, "SOA");
        assert_eq!(r.authority[0].ttl, 60);
    }
}
