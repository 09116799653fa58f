fn main() { println!("benchmark harness: see README"); }
