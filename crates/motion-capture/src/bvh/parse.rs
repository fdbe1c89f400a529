//! The BVH text parser: hierarchy, then motion data, with limits checked as it goes.

use super::{Bvh, BvhError, BvhJoint, Channel};

/// Bounds on what the parser accepts, so that a hostile file cannot exhaust memory or time.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_joints: usize,
    pub max_frames: usize,
    /// Bound on `frames × channels` (each value is kept as an `f64`).
    pub max_values: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // 10 minutes at 120 fps; a full-body rig with fingers has ~70 joints.
        Limits {
            max_bytes: 64 << 20,
            max_joints: 256,
            max_frames: 72_000,
            max_values: 12_000_000,
        }
    }
}

/// Largest magnitude accepted for any number; keeps forward kinematics finite.
const MAX_ABS_VALUE: f64 = 1e9;
/// Frame times outside this range (1000 fps .. 1 fps) are not motion capture.
const FRAME_TIME_RANGE: (f64, f64) = (0.001, 1.0);

/// Parses a BVH file with the default [`Limits`].
pub fn parse(bytes: &[u8]) -> Result<Bvh, BvhError> {
    parse_with_limits(bytes, &Limits::default())
}

pub fn parse_with_limits(bytes: &[u8], limits: &Limits) -> Result<Bvh, BvhError> {
    if bytes.len() > limits.max_bytes {
        return Err(BvhError::TooLarge(format!(
            "{} bytes, at most {} are accepted",
            bytes.len(),
            limits.max_bytes
        )));
    }
    // Joint names from some exporters are Latin-1; a lossy decode keeps the structure readable.
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut tokens = Tokens::new(text);
    match tokens.next() {
        Some(t) if t.text.eq_ignore_ascii_case("HIERARCHY") => {}
        _ => return Err(BvhError::NotBvh),
    }
    let joints = parse_hierarchy(&mut tokens, limits)?;
    let channels_per_frame: usize = joints.iter().map(|j| j.channels.len()).sum();
    if channels_per_frame == 0 {
        return Err(syntax(1, "no joint has CHANNELS"));
    }
    let (frame_count, frame_time_s) = parse_motion_header(&mut tokens, limits)?;
    let total = frame_count.saturating_mul(channels_per_frame);
    if total > limits.max_values {
        return Err(BvhError::TooLarge(format!(
            "{frame_count} frames × {channels_per_frame} channels exceed {} values",
            limits.max_values
        )));
    }
    let values = parse_values(&mut tokens, total, channels_per_frame)?;
    Ok(Bvh {
        joints,
        frame_time_s,
        channels_per_frame,
        values,
    })
}

/// One whitespace-separated word and its 1-based line number.
#[derive(Clone, Copy, Debug)]
struct Token<'a> {
    text: &'a str,
    line: usize,
}

/// A streaming tokenizer: it never materialises the (possibly huge) token list.
struct Tokens<'a> {
    lines: std::iter::Enumerate<std::str::Lines<'a>>,
    current: Option<(usize, std::str::SplitWhitespace<'a>)>,
    peeked: Option<Token<'a>>,
    last_line: usize,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Self {
        Tokens {
            lines: text.lines().enumerate(),
            current: None,
            peeked: None,
            last_line: 1,
        }
    }

    fn next(&mut self) -> Option<Token<'a>> {
        if let Some(t) = self.peeked.take() {
            return Some(t);
        }
        loop {
            if let Some((line, words)) = &mut self.current
                && let Some(w) = words.next()
            {
                self.last_line = *line;
                return Some(Token {
                    text: w,
                    line: *line,
                });
            }
            let (i, l) = self.lines.next()?;
            self.current = Some((i + 1, l.split_whitespace()));
        }
    }

    fn peek(&mut self) -> Option<Token<'a>> {
        if self.peeked.is_none() {
            self.peeked = self.next();
        }
        self.peeked
    }

    /// The rest of the current line (used for joint names, which may contain spaces).
    fn rest_of_line(&mut self, line: usize) -> Vec<Token<'a>> {
        let mut out = Vec::new();
        while let Some(t) = self.peek() {
            if t.line != line {
                break;
            }
            out.push(t);
            self.peeked = None;
        }
        out
    }

    fn expect_next(&mut self, what: &str) -> Result<Token<'a>, BvhError> {
        self.next().ok_or_else(|| {
            BvhError::Truncated(format!("expected {what} after line {}", self.last_line))
        })
    }
}

fn syntax(line: usize, message: impl Into<String>) -> BvhError {
    BvhError::Syntax {
        line,
        message: message.into(),
    }
}

fn number(t: Token<'_>) -> Result<f64, BvhError> {
    // Rust's float parser accepts "inf" and "NaN"; motion data never legitimately holds them.
    match t.text.parse::<f64>() {
        Ok(v) if v.is_finite() && v.abs() <= MAX_ABS_VALUE => Ok(v),
        _ => Err(BvhError::BadNumber {
            line: t.line,
            text: t.text.chars().take(40).collect(),
        }),
    }
}

/// A joint whose `{ … }` block is still open.
struct Open {
    /// `None` for an `End Site` block.
    joint: Option<usize>,
    has_offset: bool,
    line: usize,
}

fn parse_hierarchy(tokens: &mut Tokens<'_>, limits: &Limits) -> Result<Vec<BvhJoint>, BvhError> {
    let mut h = Hierarchy::default();
    loop {
        let t = tokens.expect_next("the hierarchy or MOTION")?;
        let word = t.text;
        let is = |keyword: &str| word.eq_ignore_ascii_case(keyword);
        if is("ROOT") || is("JOINT") {
            h.open_joint(tokens, t, is("ROOT"), limits)?;
        } else if is("End") {
            h.open_end_site(tokens, t)?;
        } else if is("OFFSET") {
            h.offset(tokens, t)?;
        } else if is("CHANNELS") {
            h.channels(tokens, t)?;
        } else if word == "}" {
            h.close(t)?;
        } else if is("MOTION") {
            return h.finish(t);
        } else {
            return Err(syntax(
                t.line,
                format!("unexpected `{}` in the hierarchy", truncate(word)),
            ));
        }
    }
}

/// The hierarchy read so far: its joints and the blocks still open.
#[derive(Default)]
struct Hierarchy {
    joints: Vec<BvhJoint>,
    stack: Vec<Open>,
    /// Index of the next joint's first channel in a frame's values.
    channel_start: usize,
    root_done: bool,
}

impl Hierarchy {
    /// `ROOT name {` or `JOINT name {`.
    fn open_joint(
        &mut self,
        tokens: &mut Tokens<'_>,
        t: Token<'_>,
        is_root: bool,
        limits: &Limits,
    ) -> Result<(), BvhError> {
        if is_root && (self.root_done || !self.stack.is_empty()) {
            return Err(syntax(t.line, "only one ROOT is supported"));
        }
        if !is_root && self.stack.is_empty() {
            return Err(syntax(t.line, "JOINT outside of the ROOT block"));
        }
        if self.joints.len() >= limits.max_joints {
            return Err(BvhError::TooLarge(format!(
                "more than {} joints",
                limits.max_joints
            )));
        }
        let parent = match self.stack.last() {
            Some(Open { joint: Some(p), .. }) => Some(*p),
            Some(Open { joint: None, .. }) => {
                return Err(syntax(t.line, "a joint inside an End Site"));
            }
            None => None,
        };
        let (name, brace_on_line) = joint_name(tokens, t)?;
        if !brace_on_line {
            open_brace(tokens)?;
        }
        self.stack.push(Open {
            joint: Some(self.joints.len()),
            has_offset: false,
            line: t.line,
        });
        self.joints.push(BvhJoint {
            name,
            parent,
            offset: [0.0; 3],
            channels: Vec::new(),
            channel_start: self.channel_start,
            end_sites: Vec::new(),
        });
        self.root_done = true;
        Ok(())
    }

    /// `End Site {`.
    fn open_end_site(&mut self, tokens: &mut Tokens<'_>, t: Token<'_>) -> Result<(), BvhError> {
        let site = tokens.expect_next("Site")?;
        if !site.text.eq_ignore_ascii_case("Site") {
            return Err(syntax(
                site.line,
                format!("expected `End Site`, found `End {}`", site.text),
            ));
        }
        match self.stack.last() {
            Some(Open { joint: Some(_), .. }) => {}
            _ => return Err(syntax(t.line, "End Site outside of a joint")),
        }
        // Some exporters name their end sites (`End Site Head_end`); the name is dropped.
        let rest = tokens.rest_of_line(site.line);
        if rest.last().is_none_or(|w| w.text != "{") {
            open_brace(tokens)?;
        }
        self.stack.push(Open {
            joint: None,
            has_offset: false,
            line: t.line,
        });
        Ok(())
    }

    /// `OFFSET x y z` of the innermost open block.
    fn offset(&mut self, tokens: &mut Tokens<'_>, t: Token<'_>) -> Result<(), BvhError> {
        let offset = read_vec3(tokens)?;
        let Some(open) = self.stack.last_mut() else {
            return Err(syntax(t.line, "OFFSET outside of a joint"));
        };
        if open.has_offset {
            return Err(syntax(t.line, "a second OFFSET in the same block"));
        }
        open.has_offset = true;
        match open.joint {
            Some(j) => self.joints[j].offset = offset,
            // End Site offsets belong to the enclosing joint.
            None => {
                let owner = self
                    .stack
                    .iter()
                    .rev()
                    .find_map(|o| o.joint)
                    .ok_or_else(|| syntax(t.line, "End Site without a joint"))?;
                self.joints[owner].end_sites.push(offset);
            }
        }
        Ok(())
    }

    /// `CHANNELS n name…` of the innermost open joint.
    fn channels(&mut self, tokens: &mut Tokens<'_>, t: Token<'_>) -> Result<(), BvhError> {
        let Some(&Open { joint: Some(j), .. }) = self.stack.last() else {
            return Err(syntax(t.line, "CHANNELS outside of a joint"));
        };
        let joint = &mut self.joints[j];
        if !joint.channels.is_empty() {
            return Err(syntax(t.line, "a second CHANNELS line for the same joint"));
        }
        joint.channels = read_channels(tokens, t.line)?;
        joint.channel_start = self.channel_start;
        self.channel_start += joint.channels.len();
        Ok(())
    }

    /// `}`.
    fn close(&mut self, t: Token<'_>) -> Result<(), BvhError> {
        let open = self
            .stack
            .pop()
            .ok_or_else(|| syntax(t.line, "unbalanced `}`"))?;
        if !open.has_offset && open.joint.is_some() {
            return Err(syntax(open.line, "joint without OFFSET"));
        }
        Ok(())
    }

    /// `MOTION`: the hierarchy must be complete.
    fn finish(self, t: Token<'_>) -> Result<Vec<BvhJoint>, BvhError> {
        if let Some(open) = self.stack.last() {
            return Err(syntax(open.line, "block not closed before MOTION"));
        }
        if self.joints.is_empty() {
            return Err(syntax(t.line, "MOTION before any ROOT"));
        }
        Ok(self.joints)
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Reads a joint name: the rest of the line. A `{` written on the same line is consumed too,
/// which the second value reports.
fn joint_name(tokens: &mut Tokens<'_>, keyword: Token<'_>) -> Result<(String, bool), BvhError> {
    let mut words = tokens.rest_of_line(keyword.line);
    let brace_on_line = words.last().is_some_and(|w| w.text == "{");
    if brace_on_line {
        words.pop();
    }
    if words.is_empty() {
        return Err(syntax(keyword.line, "joint without a name"));
    }
    let name = words.iter().map(|w| w.text).collect::<Vec<_>>().join(" ");
    if name.len() > 200 {
        return Err(syntax(keyword.line, "joint name longer than 200 bytes"));
    }
    Ok((name, brace_on_line))
}

fn open_brace(tokens: &mut Tokens<'_>) -> Result<(), BvhError> {
    let t = tokens.expect_next("`{`")?;
    if t.text != "{" {
        return Err(syntax(
            t.line,
            format!("expected `{{`, found `{}`", truncate(t.text)),
        ));
    }
    Ok(())
}

fn read_vec3(tokens: &mut Tokens<'_>) -> Result<[f64; 3], BvhError> {
    let mut v = [0.0; 3];
    for x in &mut v {
        *x = number(tokens.expect_next("an OFFSET value")?)?;
    }
    Ok(v)
}

fn read_channels(tokens: &mut Tokens<'_>, line: usize) -> Result<Vec<Channel>, BvhError> {
    let count_token = tokens.expect_next("the channel count")?;
    let count: usize = count_token
        .text
        .parse()
        .ok()
        .filter(|n| *n <= 6)
        .ok_or_else(|| {
            syntax(
                count_token.line,
                format!("channel count `{}` is not 0..6", truncate(count_token.text)),
            )
        })?;
    let mut channels = Vec::with_capacity(count);
    for _ in 0..count {
        let t = tokens.expect_next("a channel name")?;
        let c = channel(t.text)
            .ok_or_else(|| syntax(t.line, format!("unknown channel `{}`", truncate(t.text))))?;
        if channels.contains(&c) {
            return Err(syntax(line, format!("channel {c:?} listed twice")));
        }
        channels.push(c);
    }
    Ok(channels)
}

fn channel(name: &str) -> Option<Channel> {
    const NAMES: [(&str, Channel); 6] = [
        ("Xposition", Channel::Xposition),
        ("Yposition", Channel::Yposition),
        ("Zposition", Channel::Zposition),
        ("Xrotation", Channel::Xrotation),
        ("Yrotation", Channel::Yrotation),
        ("Zrotation", Channel::Zrotation),
    ];
    NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, c)| *c)
}

/// Reads `Frames: N` and `Frame Time: T`, tolerating `Frames:N` and tabs.
fn parse_motion_header(tokens: &mut Tokens<'_>, limits: &Limits) -> Result<(usize, f64), BvhError> {
    let t = tokens.expect_next("`Frames:`")?;
    let count_text = labelled_value(tokens, t, "Frames:")?;
    let frames: usize = count_text.text.parse().map_err(|_| {
        syntax(
            count_text.line,
            format!(
                "frame count `{}` is not a whole number",
                truncate(count_text.text)
            ),
        )
    })?;
    if frames == 0 {
        return Err(BvhError::NoFrames);
    }
    if frames > limits.max_frames {
        return Err(BvhError::TooLarge(format!(
            "{frames} frames, at most {} are accepted",
            limits.max_frames
        )));
    }
    let t = tokens.expect_next("`Frame Time:`")?;
    if !t.text.eq_ignore_ascii_case("Frame") {
        return Err(syntax(
            t.line,
            format!("expected `Frame Time:`, found `{}`", truncate(t.text)),
        ));
    }
    let t = tokens.expect_next("`Time:`")?;
    let time_text = labelled_value(tokens, t, "Time:")?;
    let frame_time = number(time_text)?;
    if !(FRAME_TIME_RANGE.0..=FRAME_TIME_RANGE.1).contains(&frame_time) {
        return Err(syntax(
            time_text.line,
            format!("frame time {frame_time} s is outside 0.001..1"),
        ));
    }
    Ok((frames, frame_time))
}

/// Returns the value after `label`, whether written `label value` or `labelvalue`.
fn labelled_value<'a>(
    tokens: &mut Tokens<'a>,
    t: Token<'a>,
    label: &str,
) -> Result<Token<'a>, BvhError> {
    let lower = t.text.to_ascii_lowercase();
    let label_lower = label.to_ascii_lowercase();
    if lower == label_lower {
        return tokens.expect_next(label);
    }
    if lower.starts_with(&label_lower) {
        return Ok(Token {
            text: &t.text[label.len()..],
            line: t.line,
        });
    }
    Err(syntax(
        t.line,
        format!("expected `{label}`, found `{}`", truncate(t.text)),
    ))
}

fn parse_values(
    tokens: &mut Tokens<'_>,
    total: usize,
    per_frame: usize,
) -> Result<Vec<f64>, BvhError> {
    let mut values = Vec::with_capacity(total);
    while values.len() < total {
        let Some(t) = tokens.next() else {
            let frames = values.len() / per_frame.max(1);
            return Err(BvhError::Truncated(format!(
                "the header announces {} values ({} frames), the file holds {} (about {frames} whole frames)",
                total,
                total / per_frame.max(1),
                values.len()
            )));
        };
        values.push(number(t)?);
    }
    // Values past the announced frames are ignored, as three.js and Blender do: some exporters
    // write one frame more than `Frames:` says (assimp's Boxing_Toes.bvh).
    Ok(values)
}
