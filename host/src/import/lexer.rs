//! keepalived.conf as tokens: words, quotes, comments and braces, line by line.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pos {
    pub(super) file: usize,
    pub(super) line: usize,
    pub(super) col: usize,
}

#[derive(Debug, Clone)]
pub(super) struct Word {
    pub(super) text: String,
    pub(super) pos: Pos,
}

#[derive(Debug)]
pub(super) enum Tok {
    Word(Word),
    Open(Pos),
    Close(Pos),
    Eol,
}

/// Splits one file into tokens, line by line.
pub(super) fn lex(text: &str, file: usize) -> Result<Vec<Tok>, (Pos, String)> {
    let mut toks = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let lineno = n + 1;
        let pos = |col| Pos {
            file,
            line: lineno,
            col,
        };
        let mut cur: Option<Word> = None;
        let mut quote: Option<(char, usize)> = None;
        let mut chars = line.chars().enumerate();
        fn flush(cur: &mut Option<Word>, toks: &mut Vec<Tok>) {
            if let Some(w) = cur.take() {
                toks.push(Tok::Word(w));
            }
        }
        while let Some((i, c)) = chars.next() {
            let col = i + 1;
            if let Some((q, _)) = quote {
                let w = cur.as_mut().expect("a quote starts a word");
                if c == q {
                    quote = None;
                } else if c == '\\' {
                    match chars.next() {
                        Some((_, 'n')) => w.text.push('\n'),
                        Some((_, 't')) => w.text.push('\t'),
                        Some((_, 'r')) => w.text.push('\r'),
                        Some((_, other)) => w.text.push(other),
                        None => w.text.push('\\'),
                    }
                } else {
                    w.text.push(c);
                }
                continue;
            }
            match c {
                '"' | '\'' => {
                    cur.get_or_insert_with(|| Word {
                        text: String::new(),
                        pos: pos(col),
                    });
                    quote = Some((c, col));
                }
                c if c.is_whitespace() => flush(&mut cur, &mut toks),
                // keepalived.conf(5): comments "can start anywhere in a line".
                '#' | '!' => break,
                '{' => {
                    flush(&mut cur, &mut toks);
                    toks.push(Tok::Open(pos(col)));
                }
                '}' => {
                    flush(&mut cur, &mut toks);
                    toks.push(Tok::Close(pos(col)));
                }
                c => cur
                    .get_or_insert_with(|| Word {
                        text: String::new(),
                        pos: pos(col),
                    })
                    .text
                    .push(c),
            }
        }
        if let Some((q, col)) = quote {
            return Err((
                pos(col),
                format!("this {q} quote is never closed on its line"),
            ));
        }
        flush(&mut cur, &mut toks);
        toks.push(Tok::Eol);
    }
    Ok(toks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexer_words_quotes_comments_and_braces() {
        let toks = lex("a \"b c\" d'e f'g # x\n! y\nh{i}\"j{\" 'k!'\n\"un", 0);
        let (pos, msg) = toks.unwrap_err();
        assert_eq!((pos.line, pos.col), (4, 1));
        assert!(msg.contains("never closed"), "{msg}");

        let toks = lex(
            "a \"b c\" d'e f'g # x\n! y\nh{i}\"j{\" 'k!' \"\\\"q\\\"\"",
            0,
        )
        .unwrap();
        let words: Vec<String> = toks
            .iter()
            .map(|t| match t {
                Tok::Word(w) => w.text.clone(),
                Tok::Open(_) => "{".into(),
                Tok::Close(_) => "}".into(),
                Tok::Eol => "EOL".into(),
            })
            .collect();
        assert_eq!(
            words,
            [
                "a", "b c", "de fg", "EOL", "EOL", "h", "{", "i", "}", "j{", "k!", "\"q\"", "EOL"
            ]
        );
    }
}
