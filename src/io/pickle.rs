//! The pickle machine of a `.pth` held in memory (the browser has no file for pytorch-reader to
//! open, and its unpickler is private). It builds only what a state dict is made of: dicts,
//! lists, tuples, scalars, strings and tensors (`torch._utils._rebuild_tensor_v2` over a
//! storage named by its persistent id). Every other object (optimizer state, `argparse.Namespace`
//! in `args`) becomes [`Value::Opaque`]: nothing is ever imported or executed.

use std::collections::HashMap;

use super::elements::Element;

/// A tensor as the pickle describes it; its bytes are `data/{key}` in the zip.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct TensorRef {
    pub element: Element,
    pub key: String,
    /// In elements.
    pub offset: usize,
    pub shape: Vec<usize>,
    pub stride: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// In insertion order (an `OrderedDict` keeps the file's key order).
    Dict(Vec<(Value, Value)>),
    /// `module.name`, from GLOBAL / STACK_GLOBAL.
    Global(String),
    /// A persistent id: `("storage", torch.XStorage, key, location, numel)`.
    Storage(Element, String),
    Tensor(TensorRef),
    /// Anything we do not build.
    Opaque,
}

/// What the stack holds: values and MARKs.
enum Slot {
    Mark,
    V(Value),
}

type Res<T> = std::result::Result<T, String>;

/// Runs the pickle `data` and returns the object it builds.
pub(super) fn unpickle(data: &[u8]) -> Res<Value> {
    let mut r = Reader { data, pos: 0 };
    let mut stack: Vec<Slot> = Vec::new();
    let mut memo: HashMap<u64, Value> = HashMap::new();
    loop {
        let op = r.u8()?;
        match op {
            0x80 => drop(r.u8()?),               // PROTO
            0x95 => drop(r.take(8)?),            // FRAME (protocol 4)
            b'.' => return pop(&mut stack),      // STOP
            b'(' => stack.push(Slot::Mark),      // MARK
            b'0' => drop(pop(&mut stack)?),      // POP
            b'1' => drop(pop_mark(&mut stack)?), // POP_MARK
            b'2' => {
                // DUP
                let v = top(&mut stack)?.clone();
                stack.push(Slot::V(v));
            }
            b'N' => push(&mut stack, Value::None),
            0x88 => push(&mut stack, Value::Bool(true)),
            0x89 => push(&mut stack, Value::Bool(false)),
            b'J' => {
                let v = i32::from_le_bytes(r.array()?);
                push(&mut stack, Value::Int(v as i64));
            }
            b'K' => {
                let v = r.u8()?;
                push(&mut stack, Value::Int(v as i64));
            }
            b'M' => {
                let v = u16::from_le_bytes(r.array()?);
                push(&mut stack, Value::Int(v as i64));
            }
            0x8a | 0x8b => {
                // LONG1 / LONG4: little-endian two's complement
                let n = if op == 0x8a {
                    r.u8()? as usize
                } else {
                    u32::from_le_bytes(r.array()?) as usize
                };
                let b = r.take(n)?;
                if n > 8 {
                    return Err(format!("an integer of {n} bytes"));
                }
                let mut v: i64 = 0;
                for (i, &byte) in b.iter().enumerate() {
                    v |= (byte as i64) << (8 * i);
                }
                if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
                    v -= 1i64 << (8 * n);
                }
                push(&mut stack, Value::Int(v));
            }
            b'G' => {
                let v = f64::from_be_bytes(r.array()?);
                push(&mut stack, Value::Float(v));
            }
            b'X' | 0x8c | 0x8d => {
                // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
                let n = r.len_for(op)?;
                let s = std::str::from_utf8(r.take(n)?).map_err(|e| e.to_string())?;
                push(&mut stack, Value::Str(s.to_string()));
            }
            b'T' | b'U' | b'B' | b'C' | 0x8e | 0x96 => {
                // BINSTRING, SHORT_BINSTRING, BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8
                let n = r.len_for(op)?;
                let b = r.take(n)?.to_vec();
                push(&mut stack, Value::Bytes(b));
            }
            b')' => push(&mut stack, Value::Tuple(Vec::new())),
            b']' => push(&mut stack, Value::List(Vec::new())),
            b'}' => push(&mut stack, Value::Dict(Vec::new())),
            0x8f => push(&mut stack, Value::Opaque), // EMPTY_SET
            b't' => {
                let items = pop_mark(&mut stack)?;
                push(&mut stack, Value::Tuple(items));
            }
            0x85..=0x87 => {
                // TUPLE1..3
                let n = (op - 0x84) as usize;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(pop(&mut stack)?);
                }
                items.reverse();
                push(&mut stack, Value::Tuple(items));
            }
            b'l' => {
                let items = pop_mark(&mut stack)?;
                push(&mut stack, Value::List(items));
            }
            b'd' => {
                let items = pop_mark(&mut stack)?;
                push(&mut stack, Value::Dict(pairs(items)?));
            }
            0x91 => {
                // FROZENSET
                pop_mark(&mut stack)?;
                push(&mut stack, Value::Opaque);
            }
            b'a' => {
                let v = pop(&mut stack)?;
                if let Value::List(l) = top(&mut stack)? {
                    l.push(v);
                }
            }
            b'e' => {
                let items = pop_mark(&mut stack)?;
                if let Value::List(l) = top(&mut stack)? {
                    l.extend(items);
                }
            }
            b's' => {
                let v = pop(&mut stack)?;
                let k = pop(&mut stack)?;
                if let Value::Dict(d) = top(&mut stack)? {
                    d.push((k, v));
                }
            }
            b'u' => {
                let items = pairs(pop_mark(&mut stack)?)?;
                if let Value::Dict(d) = top(&mut stack)? {
                    d.extend(items);
                }
            }
            0x90 => drop(pop_mark(&mut stack)?), // ADDITEMS (to a set we do not keep)
            b'q' => {
                let i = r.u8()? as u64;
                memo.insert(i, top(&mut stack)?.clone());
            }
            b'r' => {
                let i = u32::from_le_bytes(r.array()?) as u64;
                memo.insert(i, top(&mut stack)?.clone());
            }
            0x94 => {
                // MEMOIZE
                let i = memo.len() as u64;
                memo.insert(i, top(&mut stack)?.clone());
            }
            b'h' | b'j' => {
                let i = if op == b'h' {
                    r.u8()? as u64
                } else {
                    u32::from_le_bytes(r.array()?) as u64
                };
                let v = memo.get(&i).cloned().ok_or(format!("memo {i} is unset"))?;
                push(&mut stack, v);
            }
            b'c' => {
                let module = r.line()?;
                let name = r.line()?;
                push(&mut stack, Value::Global(format!("{module}.{name}")));
            }
            0x93 => {
                // STACK_GLOBAL
                let name = pop(&mut stack)?;
                let module = pop(&mut stack)?;
                let (Value::Str(m), Value::Str(n)) = (module, name) else {
                    return Err("STACK_GLOBAL of non-strings".into());
                };
                push(&mut stack, Value::Global(format!("{m}.{n}")));
            }
            b'Q' => {
                let pid = pop(&mut stack)?;
                push(&mut stack, storage(pid)?);
            }
            b'R' => {
                let args = pop(&mut stack)?;
                let f = pop(&mut stack)?;
                push(&mut stack, reduce(f, args)?);
            }
            0x81 => {
                // NEWOBJ: cls(*args), an object we do not build
                pop(&mut stack)?;
                pop(&mut stack)?;
                push(&mut stack, Value::Opaque);
            }
            0x92 => {
                // NEWOBJ_EX
                for _ in 0..3 {
                    pop(&mut stack)?;
                }
                push(&mut stack, Value::Opaque);
            }
            b'b' => {
                // BUILD: the state of an object (an OrderedDict's `_metadata`): dropped
                pop(&mut stack)?;
                top(&mut stack)?;
            }
            _ => {
                return Err(format!(
                    "pickle opcode 0x{op:02x} at byte {} is not one a checkpoint uses",
                    r.pos - 1
                ));
            }
        }
    }
}

/// `f(*args)` for the callables a state dict is built with; anything else is opaque.
fn reduce(f: Value, args: Value) -> Res<Value> {
    let Value::Global(name) = f else {
        return Ok(Value::Opaque);
    };
    let Value::Tuple(mut args) = args else {
        return Ok(Value::Opaque);
    };
    Ok(match name.as_str() {
        "collections.OrderedDict" => Value::Dict(Vec::new()),
        // (storage, storage_offset, size, stride, ...): v2 adds requires_grad, hooks, metadata.
        "torch._utils._rebuild_tensor_v2" | "torch._utils._rebuild_tensor" => {
            if args.len() < 4 {
                return Err(format!("{name} with {} arguments", args.len()));
            }
            let Value::Storage(element, key) = args[0].clone() else {
                return Err(format!("{name} without a storage"));
            };
            let offset = int(&args[1])?;
            let shape = ints(&args[2])?;
            let stride = ints(&args[3])?;
            Value::Tensor(TensorRef {
                element,
                key,
                offset,
                shape,
                stride,
            })
        }
        // An nn.Parameter saved as such: its data.
        "torch._utils._rebuild_parameter" | "torch._utils._rebuild_parameter_with_state"
            if !args.is_empty() =>
        {
            args.swap_remove(0)
        }
        _ => Value::Opaque,
    })
}

/// A persistent id: `("storage", torch.FloatStorage, "0", "cpu", numel)`.
fn storage(pid: Value) -> Res<Value> {
    let Value::Tuple(t) = pid else {
        return Err("a persistent id that is not a tuple".into());
    };
    match t.as_slice() {
        [Value::Str(kind), Value::Global(ty), key, ..] if kind == "storage" => {
            let key = match key {
                Value::Str(s) => s.clone(),
                Value::Int(i) => i.to_string(),
                _ => return Err("a storage key that is not a string".into()),
            };
            let ty = ty.rsplit('.').next().unwrap_or_default();
            let element = match ty {
                "FloatStorage" => Element::F32,
                "DoubleStorage" => Element::F64,
                "HalfStorage" => Element::F16,
                "BFloat16Storage" => Element::BF16,
                "LongStorage" => Element::I64,
                "IntStorage" => Element::I32,
                "ByteStorage" | "BoolStorage" => Element::U8,
                other => return Err(format!("storage type {other} is not supported")),
            };
            Ok(Value::Storage(element, key))
        }
        _ => Err("a persistent id that is not a storage".into()),
    }
}

fn int(v: &Value) -> Res<usize> {
    match v {
        Value::Int(i) if *i >= 0 => Ok(*i as usize),
        other => Err(format!("expected a size, found {other:?}")),
    }
}

fn ints(v: &Value) -> Res<Vec<usize>> {
    match v {
        Value::Tuple(t) | Value::List(t) => t.iter().map(int).collect(),
        other => Err(format!("expected a tuple of sizes, found {other:?}")),
    }
}

fn pairs(items: Vec<Value>) -> Res<Vec<(Value, Value)>> {
    if items.len() % 2 != 0 {
        return Err("an odd number of dict items".into());
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    Ok(out)
}

fn push(stack: &mut Vec<Slot>, v: Value) {
    stack.push(Slot::V(v));
}

fn pop(stack: &mut Vec<Slot>) -> Res<Value> {
    match stack.pop() {
        Some(Slot::V(v)) => Ok(v),
        Some(Slot::Mark) => Err("a MARK where a value was expected".into()),
        None => Err("the pickle stack is empty".into()),
    }
}

fn top(stack: &mut [Slot]) -> Res<&mut Value> {
    match stack.last_mut() {
        Some(Slot::V(v)) => Ok(v),
        _ => Err("no value on the pickle stack".into()),
    }
}

/// The values above the topmost MARK, which is removed.
fn pop_mark(stack: &mut Vec<Slot>) -> Res<Vec<Value>> {
    let at = stack
        .iter()
        .rposition(|s| matches!(s, Slot::Mark))
        .ok_or("no MARK on the pickle stack")?;
    let items = stack
        .drain(at + 1..)
        .map(|s| match s {
            Slot::V(v) => v,
            Slot::Mark => unreachable!("the topmost mark is at `at`"),
        })
        .collect();
    stack.pop();
    Ok(items)
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Res<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or("the pickle ends early (is the file truncated?)")?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Res<u8> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Res<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }

    /// The length prefix of a string or bytes opcode.
    fn len_for(&mut self, op: u8) -> Res<usize> {
        Ok(match op {
            0x8c | b'U' | b'C' => self.u8()? as usize,
            0x8d | 0x8e | 0x96 => u64::from_le_bytes(self.array()?) as usize,
            _ => u32::from_le_bytes(self.array()?) as usize,
        })
    }

    fn line(&mut self) -> Res<String> {
        let rest = &self.data[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("the pickle ends early (is the file truncated?)")?;
        self.pos += n + 1;
        Ok(String::from_utf8_lossy(&rest[..n]).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_state_dict_and_keeps_the_rest_opaque() {
        // {"model": OrderedDict(w=tensor), "args": Namespace(...)} as torch.save's protocol 2.
        let mut p = vec![0x80, 2, b'}', b'q', 0, b'('];
        p.extend(b"X\x05\0\0\0model");
        p.extend(b"ccollections\nOrderedDict\nq\x01)R");
        p.extend(b"X\x01\0\0\0w");
        p.extend(b"ctorch._utils\n_rebuild_tensor_v2\n(");
        p.extend(b"(X\x07\0\0\0storagectorch\nHalfStorage\nX\x01\0\0\x003X\x03\0\0\0cpuK\x06tQ");
        p.extend(b"K\x01K\x02K\x03\x86K\x03K\x01\x86\x89h\x01)Rtq\x02R");
        p.extend(b"s}X\x09\0\0\0_metadata}sbX\x04\0\0\0argscargparse\nNamespace\n)\x81}bu.");
        let v = unpickle(&p).unwrap();
        let Value::Dict(root) = v else { panic!() };
        assert_eq!(root.len(), 2);
        assert_eq!(root[1], (Value::Str("args".into()), Value::Opaque));
        let Value::Dict(sd) = &root[0].1 else {
            panic!()
        };
        assert_eq!(
            sd[0].1,
            Value::Tensor(TensorRef {
                element: Element::F16,
                key: "3".into(),
                offset: 1,
                shape: vec![2, 3],
                stride: vec![3, 1],
            })
        );
        // Truncated anywhere: an error, never a panic.
        for n in 0..p.len() {
            assert!(unpickle(&p[..n]).is_err(), "{n} bytes");
        }
        assert_eq!(
            unpickle(&[0x80, 2, 0xff]).unwrap_err(),
            "pickle opcode 0xff at byte 2 is not one a checkpoint uses"
        );
        assert_eq!(
            unpickle(&[b'J', 0xfe, 0xff, 0xff, 0xff, b'.']).unwrap(),
            Value::Int(-2)
        );
        assert_eq!(
            unpickle(&[0x8a, 2, 0x00, 0x80, b'.']).unwrap(),
            Value::Int(-32768)
        );
    }
}
