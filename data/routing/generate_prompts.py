#!/usr/bin/env python3
"""Writes the routing classifier's prompt sets: train.jsonl, heldout.jsonl, calibration.jsonl.

Every prompt is synthetic, written for this project: hand-written prompts plus templates filled from
hand-written lists. Label "gpu": false means a 1-1.5B local model answers it fine (greetings, quick
facts, short rewrites, short questions); true means it needs the GPU pool (multi-step reasoning, code,
long-form writing, math derivations, long translations/summaries of pasted text).

Splits are deterministic and generalisation-honest: each *template* family belongs to exactly one split
(stratified per label, 60/20/20), so held-out and calibration prompts come from wordings never seen in
training; hand-written singletons are split 60/20/20 by a stable hash of their text. Run from the repository root:

    python3 data/routing/generate_prompts.py
"""

import hashlib
import json
import os
import random

OUT = os.path.dirname(os.path.abspath(__file__))
SEED = 20250101

# --------------------------------------------------------------------------------------------------
# Fillers.

CITIES = ["Paris", "Tokyo", "Nairobi", "Lima", "Oslo", "Hanoi", "Toronto", "Cairo", "Lisbon", "Seoul",
          "Warsaw", "Buenos Aires", "Dublin", "Manila", "Prague", "Vienna", "Madrid", "Chicago", "Berlin",
          "Istanbul", "Sydney", "Bogotá", "Helsinki", "Athens"]
COUNTRIES = ["France", "Japan", "Kenya", "Peru", "Norway", "Vietnam", "Canada", "Egypt", "Portugal",
             "South Korea", "Poland", "Argentina", "Ireland", "Philippines", "Czechia", "Austria", "Chile",
             "Morocco", "Iceland", "New Zealand", "Ghana", "Thailand", "Mexico", "Finland"]
ANIMALS = ["an octopus", "a giraffe", "a honeybee", "a penguin", "a dolphin", "a hedgehog", "a crow",
           "a snail", "an owl", "a koala", "a shark", "a bat", "a tortoise", "an ant"]
THINGS = ["a rainbow", "a microwave oven", "a vaccine", "a credit score", "a volcano", "a black hole",
          "an index fund", "a heat pump", "a thermostat", "a passport", "a mortgage", "a solar eclipse",
          "a podcast", "a QR code", "a barcode", "an allergy", "a time zone", "a leap year"]
WORDS = ["ephemeral", "ubiquitous", "serendipity", "pragmatic", "meticulous", "resilient", "ambiguous",
         "candid", "frugal", "nostalgia", "lucid", "tenacious", "whimsical", "benevolent", "obsolete",
         "mundane", "verbose", "empathy", "irony", "paradox"]
FOODS = ["pancakes", "guacamole", "fried rice", "banana bread", "tomato soup", "hummus", "an omelette",
         "lemonade", "popcorn", "mashed potatoes", "iced tea", "garlic bread", "a smoothie"]
LANGS = ["Spanish", "French", "German", "Italian", "Portuguese", "Japanese", "Polish", "Dutch",
         "Swedish", "Turkish", "Korean", "Greek"]
PHRASES = ["good morning", "thank you very much", "where is the train station", "I'm hungry",
           "see you tomorrow", "how much does this cost", "happy birthday", "nice to meet you",
           "excuse me", "I don't understand", "the bill, please", "good night"]
NAMES = ["Maria", "Tom", "Aisha", "Kenji", "Lena", "Omar", "Priya", "Lucas", "Zoe", "Ivan", "Chen",
         "Sofia", "Mateo", "Hannah", "Yusuf", "Noor"]
TOPICS_SHORT = ["coffee", "sleep", "running", "houseplants", "budgeting", "rainy days", "cats", "the moon",
                "autumn", "bicycles", "libraries", "tea", "the ocean", "mornings", "trains"]
PROGLANGS = ["Python", "JavaScript", "TypeScript", "Go", "Rust", "Java", "C#", "C++", "Kotlin", "Ruby"]
ESSAY_TOPICS = ["the impact of remote work on city centres", "whether social media has improved democracy",
                "the ethics of gene editing in humans", "how the printing press changed Europe",
                "the future of nuclear energy", "universal basic income", "the role of zoos in conservation",
                "why public transport matters for climate goals", "the rise of e-sports",
                "privacy in the age of smart speakers", "the decline of local newspapers",
                "automation and the future of manufacturing jobs", "space tourism",
                "the history and legacy of the Silk Road", "water scarcity in growing cities",
                "the psychology of habit formation", "antibiotic resistance", "fast fashion"]
STORY_SEEDS = ["a lighthouse keeper who finds a message in a bottle", "two rival bakers in a small town",
               "a robot that wants to become a gardener", "a detective who can hear lies",
               "the last train before a blizzard", "a girl who maps an underground river",
               "an astronaut stranded on a quiet moon", "a chess tournament in 1920s Vienna",
               "a family reunion that goes wrong", "a violin that plays by itself",
               "a postman delivering letters to the future", "a village that forgets one day every year"]
SYSTEMS = ["a URL shortener", "a chat application", "a ride-sharing backend", "an online bookstore",
           "a rate limiter", "a notification service", "a photo-sharing app", "a multiplayer game lobby",
           "an inventory system for a warehouse", "a leaderboard for a mobile game"]
CODE_TASKS = ["parses a CSV file and returns the average of each numeric column",
              "merges overlapping intervals in a list",
              "finds the longest palindromic substring of a string",
              "implements an LRU cache with O(1) get and put",
              "validates an email address and explains each part of the check",
              "reads a log file and counts errors per hour",
              "performs a breadth-first search on a grid with obstacles",
              "converts Roman numerals to integers and back",
              "retries an HTTP request with exponential backoff and jitter",
              "detects a cycle in a directed graph",
              "tokenizes arithmetic expressions and evaluates them with correct precedence",
              "deduplicates records by fuzzy-matching names",
              "implements a trie with insert, search and prefix listing",
              "computes the edit distance between two strings",
              "streams a large JSON array without loading it all in memory",
              "schedules tasks with dependencies using topological sort"]
MATH_TASKS = ["the integral of x^2 * e^x dx", "the derivative of ln(sin(x)) and simplify",
              "the eigenvalues of the matrix [[2, 1], [1, 2]]",
              "the probability of getting at least two sixes in five rolls of a fair die",
              "the sum of the series 1/(n(n+1)) from n = 1 to infinity",
              "the volume of the solid formed by rotating y = sqrt(x) from 0 to 4 around the x-axis",
              "the general solution of the differential equation y'' + 4y = 0",
              "the expected number of coin flips to get two heads in a row",
              "the limit of (1 + 1/n)^(2n) as n goes to infinity",
              "the Taylor series of cos(x) around 0 up to the x^6 term",
              "the variance of a binomial distribution with n = 20 and p = 0.3",
              "the area enclosed between y = x^2 and y = 2x"]
PROOFS = ["that the square root of 2 is irrational", "that there are infinitely many prime numbers",
          "that the sum of the first n odd numbers is n squared", "that every finite group of prime order is cyclic",
          "the Cauchy-Schwarz inequality for real vectors", "that a tree with n nodes has n - 1 edges",
          "that the harmonic series diverges", "that there is no largest even number",
          "that the product of two odd numbers is odd", "De Morgan's laws for sets",
          "that the angles of a triangle sum to 180 degrees in Euclidean geometry",
          "that 3 divides n^3 - n for every integer n"]


PREAMBLES = ["Long day at work and my brain is fried.", "My kids are asking me questions at dinner again.",
             "Settling an argument with my roommate here.", "I'm doing a crossword and I'm stuck.",
             "Sorry if this is a silly question, I just never learned it at school.",
             "I was listening to a podcast on the train this morning and they mentioned something I didn't catch.",
             "We're having a quiz night at the pub on Friday and I want to practise a bit beforehand.",
             "Just moved to a new flat and I'm still unpacking boxes, so quick one.",
             "My grandmother asked me this on the phone and I didn't want to guess.",
             "Okay so this might sound random but it's been bugging me all afternoon."]
QUICK_QUESTIONS = ["what's the capital of Australia?", "how many legs does an insect have?",
                   "who wrote The Old Man and the Sea?", "what's the largest planet?",
                   "is a peanut actually a nut?", "what's the longest river in Europe?",
                   "which is heavier, a kilo of feathers or a kilo of steel?", "what does 'bon appétit' mean?",
                   "how many minutes are in a day?", "what's the chemical formula for water?",
                   "when did the first moon landing happen?", "what colour is a giraffe's tongue?"]
EASY_CONCEPTS = ["a black hole", "the internet", "electricity", "inflation", "gravity", "DNA", "the stock market",
                 "a computer virus", "the greenhouse effect", "vaccines", "a rainbow", "money"]
SHORT_SENTENCES = ["I would like a coffee with milk.", "The museum is closed on Mondays.", "My brother lives in London.",
                   "Can you help me with my bags?", "We are going to the beach tomorrow.", "This soup is delicious.",
                   "I lost my keys again.", "The meeting starts at ten."]
PAIRS = [("a crocodile", "an alligator"), ("weather", "climate"), ("a virus", "bacteria"), ("baking soda", "baking powder"),
         ("a latte", "a cappuccino"), ("a hurricane", "a typhoon"), ("a lake", "a pond"), ("a frog", "a toad"),
         ("RAM", "storage"), ("a cold", "the flu")]
HARD_ALGOS = ["a red-black tree", "a Bloom filter", "a minimal HTTP/1.1 server", "a regex engine with backtracking",
              "A* pathfinding on a weighted grid", "a JSON parser", "consistent hashing with virtual nodes",
              "a thread pool with work stealing", "the Raft leader election", "a B-tree with deletion",
              "an interval tree", "a rope data structure for a text editor"]
DEEP_CONCEPTS = ["Gödel's incompleteness theorems", "the Black-Scholes model", "the Fourier transform",
                 "general relativity's prediction of gravitational time dilation", "monads in functional programming",
                 "the Raft consensus algorithm", "Byzantine fault tolerance", "the central limit theorem",
                 "public-key cryptography", "how CRISPR gene editing works", "quantum entanglement and Bell's theorem",
                 "how a compiler's register allocator works"]
DERIVATIONS = ["Euler's identity from the Taylor series", "Stirling's approximation", "the kinetic energy formula from the work-energy theorem",
               "the moment generating function of the normal distribution", "Bayes' theorem from the definition of conditional probability",
               "the formula for compound interest with continuous compounding", "Kepler's third law from Newton's law of gravitation",
               "the least-squares estimator for simple linear regression"]
SITUATIONS = ["My landlord wants to raise the rent by 20% and my lease ends in two months",
              "I've been offered two jobs, one remote with a higher salary and one in the office with better growth",
              "Our small bakery's sales dropped 25% since a chain opened across the street",
              "My team keeps missing sprint deadlines and morale is low",
              "I inherited some money and I'm unsure whether to pay off my student loans or invest it",
              "My elderly father refuses to stop driving even though his eyesight is getting worse",
              "Our volunteer group wants to organise a neighbourhood festival for the first time",
              "I'm moving abroad with two kids and need to choose between three cities"]

# Pasted material for summaries, translations and analysis.
PASSAGES = [
    "The city council met on Tuesday to discuss the proposed expansion of the northern bus depot. "
    "Residents raised concerns about noise from early-morning departures and the loss of a small park "
    "that currently borders the site. The transport authority argued that the expansion would allow 40 "
    "additional electric buses to be charged overnight, reducing diesel use across the network by roughly "
    "a fifth. After three hours of debate, the council voted to delay a final decision until an independent "
    "noise study is completed, which is expected to take four months. Several members asked the authority "
    "to present alternative sites, including a disused rail yard two kilometres to the east.",

    "Our quarterly results show revenue of 12.4 million, up 8 percent on the same quarter last year, driven "
    "mainly by subscriptions in the education segment. Hardware sales declined by 15 percent as customers "
    "delayed upgrades. Operating costs rose because of two new support centres, which we expect to pay off "
    "through lower churn next year. Cash reserves remain healthy at 30 million. For the next quarter we plan "
    "to launch the redesigned mobile app, renegotiate two supplier contracts, and pause hiring outside "
    "engineering and customer success until the hardware trend becomes clearer.",

    "Sleep researchers have long known that teenagers tend to fall asleep later than adults, a shift driven "
    "partly by changes in melatonin timing during puberty. A new study followed 2,000 students in schools "
    "that moved their start time from 7:50 to 8:45. Over two years, students at the later-starting schools "
    "slept on average 34 minutes more per night, reported lower daytime sleepiness, and had modestly better "
    "attendance. Grades improved slightly in morning classes but not in afternoon ones. The authors caution "
    "that bus schedules, sports practices and parents' work hours all complicate later start times.",

    "Dear team, as you know the migration to the new ticketing system starts on the 3rd. During the first "
    "week both systems will run in parallel: please create new tickets only in the new system, but keep "
    "answering existing tickets in the old one until they are closed. Training sessions are scheduled every "
    "morning at 9:30 and recordings will be shared afterwards. If you find a missing feature, log it in the "
    "shared spreadsheet rather than emailing the vendor directly. We expect the old system to become "
    "read-only on the 17th and to be switched off at the end of the month. Thanks for your patience.",

    "The coral reefs along the eastern coast experienced their third mass bleaching event in seven years "
    "this summer. Surveys found that about 60 percent of shallow reef areas showed signs of bleaching, "
    "although deeper reefs were less affected. Scientists say recovery is possible if water temperatures "
    "return to normal for several years, but the intervals between heat waves are shrinking. Local tourism "
    "operators have started funding restoration projects that grow heat-tolerant corals in nurseries and "
    "transplant them onto damaged reefs, though the scale of these efforts remains small.",

    "Article 4. The tenant shall pay the rent in advance on the first day of each month. Late payments "
    "incur a fee of 2 percent of the monthly rent for each week of delay. Article 5. The tenant may not "
    "sublet the premises without the written consent of the landlord. Article 6. The landlord is "
    "responsible for structural repairs and for the maintenance of the heating system; the tenant is "
    "responsible for minor repairs below 150 euros. Article 7. Either party may terminate the lease with "
    "three months' written notice, except during the first year.",

    "In the early nineteenth century, canals were the arteries of industrial Britain. Barges pulled by "
    "horses could carry far heavier loads than carts on the poor roads of the time, and the cost of moving "
    "coal fell sharply wherever a canal opened. Investors rushed to fund new routes, and by 1830 the network "
    "stretched over 6,000 kilometres. Within a generation, however, railways offered faster and more "
    "flexible transport, and many canal companies were bought by their competitors and left to decline. "
    "Today many of those canals have been restored for leisure boating and walking.",

    "Patient is a 54-year-old man presenting with intermittent chest tightness on exertion for three weeks, "
    "relieved by rest within five minutes. No pain at rest. History of hypertension treated with amlodipine, "
    "smoker of 20 cigarettes per day for 30 years. Father had a myocardial infarction at 60. Examination "
    "unremarkable, blood pressure 148/92. Resting ECG shows no acute changes. Plan: exercise stress test, "
    "lipid panel and HbA1c, start aspirin pending review, smoking cessation advice given, follow-up in two "
    "weeks or earlier if symptoms occur at rest.",
]

CODE_SNIPPETS = [
    "```python\ndef average(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total / len(xs)\n\nprint(average([]))\n```",
    "```javascript\nasync function loadUsers() {\n  const res = fetch('/api/users');\n  const data = await res.json();\n  return data.map(u => u.name);\n}\n```",
    "```sql\nSELECT c.name, COUNT(o.id)\nFROM customers c\nLEFT JOIN orders o ON o.customer_id = c.id\nWHERE o.created_at > '2024-01-01'\nGROUP BY c.name;\n```",
    "```go\nfunc worker(jobs <-chan int, results chan<- int) {\n    for j := range jobs {\n        results <- j * 2\n    }\n}\n\nfunc main() {\n    jobs := make(chan int)\n    results := make(chan int)\n    go worker(jobs, results)\n    for i := 0; i < 5; i++ { jobs <- i }\n    fmt.Println(<-results)\n}\n```",
    "```csharp\npublic int Fib(int n)\n{\n    if (n <= 1) return n;\n    return Fib(n - 1) + Fib(n - 2);\n}\n```",
    "```rust\nfn longest(a: &str, b: &str) -> &str {\n    if a.len() > b.len() { a } else { b }\n}\n```",
    "```java\nList<Integer> nums = new ArrayList<>(List.of(1, 2, 3, 4));\nfor (Integer n : nums) {\n    if (n % 2 == 0) nums.remove(n);\n}\n```",
    "```python\nimport threading\ncounter = 0\ndef inc():\n    global counter\n    for _ in range(100000):\n        counter += 1\nthreads = [threading.Thread(target=inc) for _ in range(4)]\nfor t in threads: t.start()\nfor t in threads: t.join()\nprint(counter)\n```",
    "def parse_date(s):\n    parts = s.split('/')\n    return int(parts[2]), int(parts[1]), int(parts[0])\n\nrows = [parse_date(line) for line in open('dates.txt')]",
    "const total = items.reduce((sum, item) => { sum + item.price * item.qty }, 0);\nconsole.log(total);",
]

# --------------------------------------------------------------------------------------------------
# Local prompts (gpu: false). Each template is a function of the random generator; the family name
# decides its split.

def pick(rng, xs):
    return xs[rng.randrange(len(xs))]


LOCAL_TEMPLATES = {
    "capital_a": lambda r: f"What is the capital of {pick(r, COUNTRIES)}?",
    "capital_b": lambda r: f"capital of {pick(r, COUNTRIES)}?",
    "capital_c": lambda r: f"Which city is the capital of {pick(r, COUNTRIES)}",
    "define_a": lambda r: f"What does '{pick(r, WORDS)}' mean?",
    "define_b": lambda r: f"Define {pick(r, WORDS)} in one sentence.",
    "define_c": lambda r: f"Give me a synonym for {pick(r, WORDS)}.",
    "define_d": lambda r: f"Use the word {pick(r, WORDS)} in a sentence.",
    "animal_a": lambda r: f"How long does {pick(r, ANIMALS)} live?",
    "animal_b": lambda r: f"What does {pick(r, ANIMALS)} eat?",
    "animal_c": lambda r: f"Fun fact about {pick(r, ANIMALS)[2:].lstrip('n ')} please",
    "thing_a": lambda r: f"What is {pick(r, THINGS)}?",
    "thing_b": lambda r: f"Explain {pick(r, THINGS)} in simple terms.",
    "thing_c": lambda r: f"In one sentence, what is {pick(r, THINGS)}?",
    "weather_a": lambda r: f"What's the weather usually like in {pick(r, CITIES)} in {pick(r, ['spring', 'July', 'winter', 'October'])}?",
    "time_a": lambda r: f"What time zone is {pick(r, CITIES)} in?",
    "travel_a": lambda r: f"Name three things to see in {pick(r, CITIES)}.",
    "convert_a": lambda r: f"How many {pick(r, ['centimetres', 'inches', 'feet', 'millimetres'])} are in {r.randint(2, 30)} {pick(r, ['metres', 'feet', 'yards'])}?",
    "convert_b": lambda r: f"Convert {r.randint(50, 450)} degrees Fahrenheit to Celsius",
    "convert_c": lambda r: f"{r.randint(2, 90)} km in miles?",
    "arith_a": lambda r: f"What is {r.randint(12, 99)} times {r.randint(3, 40)}?",
    "arith_b": lambda r: f"What's {r.randint(5, 40)}% of {r.randint(20, 900)}?",
    "arith_c": lambda r: f"{r.randint(100, 999)} + {r.randint(100, 999)} = ?",
    "arith_d": lambda r: f"Is {r.randint(20, 200)} a prime number?",
    "greet_a": lambda r: pick(r, ["Hi!", "Hello there", "Hey, how are you?", "Good morning!", "Yo", "hi :)",
                                   "Hello, who are you?", "Hey there, what's up?", "Good evening", "Howdy!"]),
    "thanks_a": lambda r: pick(r, ["Thanks!", "Thank you so much", "thx", "Great, thanks for the help.",
                                    "Perfect, that's what I needed.", "ok cool", "Awesome, cheers!"]),
    "rewrite_a": lambda r: f"Make this sound more polite: \"{pick(r, ['Send me the file now.', 'Your report is late.', 'I need an answer today.', 'Stop calling me after 6.', 'Fix this by Monday.'])}\"",
    "rewrite_b": lambda r: f"Fix the grammar: {pick(r, ['me and him goes to the store yesterday', 'their going to be late', 'she dont like apples', 'the datas is wrong', 'i has finished my homeworks'])}",
    "rewrite_c": lambda r: f"Rephrase \"{pick(r, ['The meeting is cancelled.', 'We are out of milk.', 'I will be late today.', 'The shop opens at nine.', 'Please call me back.'])}\" in a friendlier way",
    "rewrite_d": lambda r: f"Shorten this: {pick(r, ['I wanted to let you know that I will not be able to attend the meeting tomorrow.', 'Could you please send me the document when you have a moment?', 'We are happy to announce that the new office will open next week.'])}",
    "translate_short_a": lambda r: f"How do you say '{pick(r, PHRASES)}' in {pick(r, LANGS)}?",
    "translate_short_b": lambda r: f"Translate \"{pick(r, PHRASES)}\" to {pick(r, LANGS)}.",
    "translate_short_c": lambda r: f"{pick(r, PHRASES)} in {pick(r, LANGS)}?",
    "recipe_a": lambda r: f"Quick tip for making {pick(r, FOODS)}?",
    "recipe_b": lambda r: f"What goes well with {pick(r, FOODS)}?",
    "recipe_c": lambda r: f"How long should I cook {pick(r, FOODS)}?",
    "name_a": lambda r: f"Suggest a name for a {pick(r, ['cat', 'dog', 'goldfish', 'hamster', 'parrot', 'bakery', 'book club', 'podcast'])}.",
    "name_b": lambda r: f"Give me {r.randint(3, 5)} name ideas for a {pick(r, ['coffee shop', 'band', 'board game night', 'running club', 'tabby cat'])}",
    "short_poem_a": lambda r: f"Write a haiku about {pick(r, TOPICS_SHORT)}.",
    "short_poem_b": lambda r: f"A two-line rhyme about {pick(r, TOPICS_SHORT)}, please",
    "joke_a": lambda r: f"Tell me a joke about {pick(r, TOPICS_SHORT)}.",
    "joke_b": lambda r: pick(r, ["Tell me a joke", "Know any good puns?", "Say something funny", "Give me a riddle"]),
    "spell_a": lambda r: f"How do you spell {pick(r, ['necessary', 'accommodate', 'definitely', 'rhythm', 'separate', 'questionnaire', 'restaurant', 'Wednesday'])}?",
    "spell_b": lambda r: "Is it '{}' or '{}' here?".format(*pick(r, [("affect", "effect"), ("their", "there"), ("its", "it's"), ("lay", "lie"), ("fewer", "less")])),
    "who_a": lambda r: f"Who {pick(r, ['wrote Hamlet', 'painted the Mona Lisa', 'invented the telephone', 'discovered penicillin', 'was the first person on the moon', 'composed the Four Seasons', 'wrote Pride and Prejudice', 'founded Microsoft'])}?",
    "when_a": lambda r: f"When {pick(r, ['did World War II end', 'was the Eiffel Tower built', 'did the Berlin Wall fall', 'is the next leap year', 'did the Titanic sink', 'was the first iPhone released'])}?",
    "how_many_a": lambda r: f"How many {pick(r, ['legs does a spider have', 'planets are in the solar system', 'bones are in the human body', 'days are in a leap year', 'players are on a football team', 'strings does a violin have', 'continents are there'])}?",
    "advice_a": lambda r: f"Any quick tip to {pick(r, ['fall asleep faster', 'remember names', 'stay focused', 'keep basil alive', 'stop procrastinating', 'drink more water', 'get rid of hiccups', 'wake up earlier'])}?",
    "advice_b": lambda r: f"What should I {pick(r, ['wear for a job interview', 'bring to a picnic', 'pack for a weekend trip', 'get my mom for her birthday', 'cook for dinner tonight', 'read next if I liked The Hobbit'])}?",
    "yesno_a": lambda r: f"Is it safe to {pick(r, ['eat raw cookie dough', 'freeze bread', 'microwave eggs', 'drink tap water in ' + pick(r, CITIES), 'leave rice out overnight', 'reheat coffee'])}?",
    "yesno_b": lambda r: f"Can {pick(r, ['dogs eat grapes', 'cats see in the dark', 'you charge a phone overnight', 'plants grow under LED light', 'penguins fly', 'I recycle pizza boxes'])}?",
    "why_short_a": lambda r: f"Why {pick(r, ['is the sky blue', 'do cats purr', 'do onions make you cry', 'is the ocean salty', 'do leaves change colour', 'do we yawn', 'is ice slippery', 'do birds migrate'])}?",
    "code_trivia_a": lambda r: f"What does {pick(r, ['SQL', 'API', 'HTML', 'CPU', 'URL', 'JSON', 'RAM', 'HTTP'])} stand for?",
    "code_trivia_b": lambda r: f"Is {pick(r, PROGLANGS)} case sensitive?",
    "code_trivia_c": lambda r: f"Who created {pick(r, ['Python', 'Linux', 'JavaScript', 'C', 'Git', 'the World Wide Web'])}?",
    "math_trivia_a": lambda r: f"What is the square root of {pick(r, [16, 25, 49, 64, 81, 144, 169, 225])}?",
    "math_trivia_b": lambda r: pick(r, ["What's pi to 5 digits?", "What is a prime number?", "How many degrees in a right angle?",
                                         "What is 2 to the power of 10?", "Is zero even?", "What's a hypotenuse?"]),
    "reminder_a": lambda r: f"Remind me what {pick(r, NAMES)}'s birthday gift idea was... never mind, what's a good gift for a {r.randint(6, 70)} year old?",
    "chat_a": lambda r: f"I'm bored. {pick(r, ['Any ideas?', 'What should I do?', 'Entertain me', 'Suggest a hobby'])}",
    "chat_b": lambda r: f"My name is {pick(r, NAMES)}. {pick(r, ['What does it mean?', 'Say hi!', 'Is it a common name?', 'Can you remember it?'])}",
    "summ_short_a": lambda r: f"Summarise in one line: \"{pick(r, ['The store will close early on Friday because of the holiday.', 'Tickets for the concert are sold out, but a waiting list is open.', 'The train was delayed by twenty minutes due to a signal failure.', 'Our team won the match 3-1 after a slow start.'])}\"",
    "email_a": lambda r: f"Write a one-line reply saying I can make the meeting at {r.randint(1, 5)}pm.",
    "email_b": lambda r: f"Short text to tell {pick(r, NAMES)} I'm running {r.randint(5, 30)} minutes late",
    "list_a": lambda r: f"List {r.randint(3, 6)} {pick(r, ['fruits that are red', 'countries in South America', 'colours of the rainbow', 'breakfast ideas', 'board games for two', 'indoor plants'])}.",
    "opposite_a": lambda r: f"What's the opposite of {pick(r, WORDS)}?",
    "fact_check_a": lambda r: f"Is {pick(r, CITIES)} in {pick(r, COUNTRIES)}?",
    "distance_a": lambda r: f"How far is {pick(r, CITIES)} from {pick(r, CITIES)} roughly?",
    "context_a": lambda r: f"{pick(r, PREAMBLES)} {pick(r, QUICK_QUESTIONS)}",
    "context_b": lambda r: f"{pick(r, PREAMBLES)} {pick(r, PREAMBLES)} Anyway, {pick(r, QUICK_QUESTIONS)}",
    "eli5_a": lambda r: f"Explain {pick(r, EASY_CONCEPTS)} like I'm five.",
    "eli5_b": lambda r: f"In two sentences, how does {pick(r, EASY_CONCEPTS)} work?",
    "solve_easy_a": lambda r: f"Solve x + {r.randint(2, 40)} = {r.randint(41, 99)}",
    "solve_easy_b": lambda r: f"Calculate {r.randint(2, 12)} squared.",
    "code_easy_a": lambda r: f"How do I print hello world in {pick(r, PROGLANGS)}?",
    "code_easy_b": lambda r: f"What's the {pick(r, PROGLANGS)} syntax for a comment?",
    "code_easy_c": lambda r: f"Which file extension does {pick(r, PROGLANGS)} code use?",
    "translate_sentence_a": lambda r: f"Translate to {pick(r, LANGS)}: {pick(r, SHORT_SENTENCES)}",
    "translate_sentence_b": lambda r: f"What's \"{pick(r, SHORT_SENTENCES)}\" in {pick(r, LANGS)}?",
    "difference_a": lambda r: "What's the difference between {} and {}?".format(*pick(r, PAIRS)),
    "difference_b": lambda r: "{} vs {}, quick answer?".format(*pick(r, PAIRS)),
    "check_sentence_a": lambda r: f"Is this sentence correct? \"{pick(r, SHORT_SENTENCES)}\"",
    "sort_a": lambda r: "Sort these alphabetically: " + ", ".join(r.sample(["pear", "apple", "kiwi", "mango", "banana", "cherry", "fig", "grape", "lemon", "plum"], 5)),
    "story_tiny_a": lambda r: f"Give me a one-sentence story about {pick(r, STORY_SEEDS)}.",
    "movie_a": lambda r: f"Recommend a {pick(r, ['comedy', 'sci-fi movie', 'documentary', 'horror film', 'animated film', 'thriller'])} for tonight",
}

LOCAL_HANDWRITTEN = [
    "hello", "hi there!", "good afternoon :)", "How's it going?", "What can you do?", "Are you a robot?",
    "What day is it today?", "What's 7 x 8?", "how many ounces in a cup", "Capital of Australia?",
    "Who is the author of 1984?", "What's the boiling point of water?", "What color do you get mixing blue and yellow?",
    "Tell me something interesting.", "What's the tallest mountain in the world?", "How many hours in a week?",
    "Where is Machu Picchu?", "Is a tomato a fruit?", "What language do they speak in Brazil?",
    "Spell 'receive' for me.", "What rhymes with orange?", "What's the plural of cactus?",
    "Is Pluto a planet?", "Best way to store bananas?", "How do I boil an egg?", "What year is it?",
    "Translate 'cat' to German.", "What is 'hello' in Japanese?", "Say good morning in Italian",
    "Is coffee bad for you?", "Why do we dream?", "Why do cats knead?", "why is my bread dense",
    "What's a good stretch for lower back pain?", "What is a noun?", "What's the past tense of 'run'?",
    "Can you make this shorter: 'I am writing to inform you that the package has arrived.'",
    "Make it sound formal: 'Hey, can u send the invoice?'", "Turn this into a question: The store opens at 9.",
    "What's the difference between weather and climate, briefly?", "How many teaspoons in a tablespoon?",
    "What does RSVP mean?", "What does 'e.g.' stand for?", "Who won the 2018 World Cup?",
    "Give me a motivational quote.", "Say something nice.", "I feel a bit sad today.",
    "Recommend a podcast about history.", "What's a good name for a golden retriever?",
    "How do you pronounce 'quinoa'?", "What is the speed of light?", "Is it going to rain? I'm in Dublin.",
    "What's the freezing point of water in Fahrenheit?", "Which is bigger, a kilobyte or a megabyte?",
    "Ok thanks, bye!", "lol", "nice", "What's up?", "Good night!", "Can you help me?",
    "What is photosynthesis in one sentence?", "What is gravity?", "Name a famous painter.",
    "What's the square of 12?", "What's 15 divided by 3?", "Round 3.14159 to two decimals.",
    "What is the largest ocean?", "What is the chemical symbol for gold?", "How many sides does a hexagon have?",
    "What is the main ingredient in guacamole?", "Suggest a word that means 'very happy'.",
    "Is 'alot' a word?", "What is an adjective? Give an example.", "Where do penguins live?",
    "What's a quick snack with peanut butter?", "What's the capital of Canada, and is it Toronto?",
    "What does CPU do, in one sentence?", "What is Python used for? Short answer please.",
    "What is a function in math, simply?", "Is JavaScript the same as Java?",
    "What's the shortcut to copy on a Mac?", "How do I take a screenshot on Windows?",
    "How do I restart my router?", "My phone is slow, any quick fix?", "What's the default port for HTTP?",
    "What's the opposite of 'generous'?", "Give me a fun fact about space.", "Tell me a fun fact about the ocean",
    "Write a short birthday message for my sister.", "Write a one-sentence thank-you note to my teacher.",
    "Write a tweet about Monday mornings.", "A short caption for a beach photo?",
    "Write a haiku about rain.", "Write a limerick about a cat.", "Rhyme something with 'moon'.",
    "Hi! I'm planning dinner for two tonight, nothing fancy, just something warm since it's cold out. What would you suggest?",
    "My daughter asked me why the moon changes shape and I couldn't remember. Can you give a simple kid-friendly answer?",
    "We just adopted a kitten, she's about 10 weeks old and super playful. How often should we feed her?",
    "I'm at the supermarket and forgot my list. I think I needed stuff for pancakes. What do I need?",
    "Quick question before my meeting: is it 'a historic' or 'an historic'?",
    "I keep mixing these up: is a crocodile the one with the pointy snout or the alligator?",
    "Hey, I'm writing a card for my colleague who is retiring after 30 years. Can you suggest one warm sentence?",
    "Just finished a 5k run, first time ever! Any tips for recovery today?",
    "My plant's leaves are turning yellow. It's a pothos near a window. Too much water maybe?",
    "Can you remind me how many grams are in a pound? Baking and the recipe is American.",
    "I'm going to Lisbon next month for a weekend. What's one dish I must try?",
    "what's the wifi symbol called", "convert 10 euros to dollars roughly", "what's the date of easter this year",
    "whats the meaning of life lol", "how to say cheers in polish", "recommend a good book",
    "is it bad to crack your knuckles", "how tall is the eiffel tower", "what's a leap year",
    "Who was Cleopatra?", "What's the national animal of Scotland?", "Who painted Starry Night?",
    "What's the difference between a virus and bacteria? Keep it short.", "Is a whale a fish?",
]

# --------------------------------------------------------------------------------------------------
# GPU prompts (gpu: true).

GPU_TEMPLATES = {
    "essay_a": lambda r: f"Write a {pick(r, ['1,000-word', '1500 word', 'five-paragraph', 'long', 'well-structured'])} essay on {pick(r, ESSAY_TOPICS)}, with an introduction, at least three arguments with evidence, counterarguments, and a conclusion.",
    "essay_b": lambda r: f"I need a detailed argumentative essay about {pick(r, ESSAY_TOPICS)}. Cite historical examples, consider economic and social effects, and end with a balanced recommendation.",
    "essay_c": lambda r: f"Draft a report for our board on {pick(r, ESSAY_TOPICS)}: executive summary, background, risks, opportunities, and a section with three concrete recommendations. Aim for about two pages.",
    "essay_d": lambda r: f"Can you write me a thorough article (around {r.choice([800, 1200, 2000])} words) explaining {pick(r, ESSAY_TOPICS)} to a general audience, with headings and a short FAQ at the end?",
    "story_a": lambda r: f"Write a short story of about {r.choice([1000, 1500, 2000, 2500])} words about {pick(r, STORY_SEEDS)}. Include dialogue, a twist near the end, and a hopeful ending.",
    "story_b": lambda r: f"Write the first chapter of a mystery novel about {pick(r, STORY_SEEDS)}, introducing three characters with distinct voices and ending on a cliffhanger.",
    "story_c": lambda r: f"Tell a long bedtime story about {pick(r, STORY_SEEDS)} for a seven-year-old, in several parts, with a gentle moral and repeated phrases the child can join in on.",
    "code_a": lambda r: f"Write a {pick(r, PROGLANGS)} function that {pick(r, CODE_TASKS)}. Include type hints or types, handle edge cases, and add unit tests.",
    "code_b": lambda r: f"Implement, in {pick(r, PROGLANGS)}, a module that {pick(r, CODE_TASKS)}; explain the time and space complexity of your approach.",
    "code_c": lambda r: f"How would I write code that {pick(r, CODE_TASKS)}? Use {pick(r, PROGLANGS)} and walk me through it.",
    "code_d": lambda r: f"Here is my code:\n{pick(r, CODE_SNIPPETS)}\nIt doesn't work as expected. Find the bug, explain why it happens, and give me a corrected version.",
    "code_e": lambda r: f"Review this and suggest improvements for readability and performance:\n{pick(r, CODE_SNIPPETS)}",
    "code_f": lambda r: f"{pick(r, CODE_SNIPPETS)}\nwhat's wrong with this? it fails sometimes",
    "code_g": lambda r: f"Convert this to {pick(r, PROGLANGS)} keeping the same behaviour, and add error handling:\n{pick(r, CODE_SNIPPETS)}",
    "design_a": lambda r: f"Design {pick(r, SYSTEMS)} that serves 10 million users. Describe the data model, the API endpoints, caching, how it scales, and the main failure modes.",
    "design_b": lambda r: f"Walk me through the architecture of {pick(r, SYSTEMS)}: which database would you pick and why, how would you shard it, and what are the tradeoffs of your choices?",
    "math_a": lambda r: f"Calculate {pick(r, MATH_TASKS)}. Show every step of the derivation.",
    "math_b": lambda r: f"Find {pick(r, MATH_TASKS)}, explaining the method you use and checking the result.",
    "math_c": lambda r: f"Help me solve this step by step: {pick(r, MATH_TASKS)}.",
    "proof_a": lambda r: f"Prove {pick(r, PROOFS)}.",
    "proof_b": lambda r: f"Give a rigorous proof {pick(r, PROOFS)}, and explain the key idea in plain words afterwards.",
    "proof_c": lambda r: f"Can you show me why it's true {pick(r, PROOFS)}? I'd like a formal argument, not just intuition.",
    "summ_a": lambda r: f"Summarize the following text in five bullet points and list any decisions or deadlines it mentions:\n\n{pick(r, PASSAGES)}",
    "summ_b": lambda r: f"{pick(r, PASSAGES)}\n\nTL;DR? Also, what are the open questions?",
    "summ_c": lambda r: f"Please read this and write a short summary for someone who has no context, then suggest three follow-up questions:\n\"{pick(r, PASSAGES)}\"",
    "trans_a": lambda r: f"Translate the following into {pick(r, LANGS)}, keeping the tone and paragraph structure:\n\n{pick(r, PASSAGES)}",
    "trans_b": lambda r: f"Can you put this in {pick(r, LANGS)} for me? It's going to a client, so it has to read naturally.\n\n{pick(r, PASSAGES)}",
    "analysis_a": lambda r: f"Compare {pick(r, PROGLANGS)} and {pick(r, PROGLANGS)} for building {pick(r, SYSTEMS)}: performance, ecosystem, hiring, and long-term maintenance. Conclude with a recommendation.",
    "analysis_b": lambda r: f"Analyze the pros and cons of {pick(r, ESSAY_TOPICS)} from the perspectives of governments, companies and individuals, and evaluate which arguments are strongest.",
    "analysis_c": lambda r: f"Here is a passage:\n{pick(r, PASSAGES)}\nWhat are the implications for the people involved, what risks does it leave unaddressed, and what would you do next?",
    "puzzle_a": lambda r: f"{pick(r, NAMES)}, {pick(r, NAMES)} and {pick(r, NAMES)} each own a different pet (cat, dog, parrot) and live in houses painted red, green and blue. The cat owner lives in the red house. The dog owner is not the one in the blue house. The parrot owner lives next to the red house. Work out who owns which pet, explaining your reasoning.",
    "puzzle_b": lambda r: f"A train leaves {pick(r, CITIES)} at {r.randint(6, 11)}:00 going {r.randint(60, 120)} km/h and another leaves {pick(r, CITIES)} at {r.randint(7, 12)}:30 going {r.randint(80, 160)} km/h towards it; the cities are {r.randint(300, 900)} km apart. When and where do they meet? Explain each step.",
    "short_code_a": lambda r: f"Implement {pick(r, HARD_ALGOS)} in {pick(r, PROGLANGS)}.",
    "short_code_b": lambda r: f"{pick(r, PROGLANGS)}: {pick(r, HARD_ALGOS)}, with tests",
    "short_essay_a": lambda r: f"Essay on {pick(r, ESSAY_TOPICS)}, {r.choice([1200, 1500, 2000])} words.",
    "deep_a": lambda r: f"Explain {pick(r, DEEP_CONCEPTS)} rigorously, with the math.",
    "deep_b": lambda r: f"Teach me {pick(r, DEEP_CONCEPTS)} in depth, as if I were a graduate student, with worked examples.",
    "derive_a": lambda r: f"Derive {pick(r, DERIVATIONS)}.",
    "advice_long_a": lambda r: f"{pick(r, SITUATIONS)}. Lay out my options, the risks and costs of each, what information I should gather first, and draft the message I should send to the people involved.",
    "advice_long_b": lambda r: f"{pick(r, SITUATIONS)}. Help me think this through carefully: what matters most, what could go wrong in each scenario, and a plan for the next three months.",
    "plan_a": lambda r: f"Plan a {r.randint(5, 14)}-day itinerary through {pick(r, COUNTRIES)} for two people on a budget of {r.randint(15, 40)}00 euros, with day-by-day activities, transport between cities, estimated costs, and alternatives for rainy days.",
    "plan_b": lambda r: f"Create a {r.randint(8, 16)}-week training plan to go from couch to half marathon, with weekly mileage, rest days, cross-training, and how to adjust if I get injured.",
    "plan_c": lambda r: f"Build a study plan for learning {pick(r, PROGLANGS)} in three months while working full time: weekly goals, projects, resources, and how to measure progress.",
}

GPU_HANDWRITTEN = [
    "Prove that the square root of 3 is irrational.",
    "Explain in detail how public-key cryptography works, including RSA key generation, encryption, signing, and why factoring is hard.",
    "Write a Python script that scrapes a paginated website, respects robots.txt, retries failures, and stores the results in SQLite.",
    "What are the differences between TCP and UDP? Compare them in depth: reliability, ordering, congestion control, use cases, and why QUIC was built on UDP.",
    "Derive the formula for the sum of a geometric series and use it to compute the present value of an annuity.",
    "Write a regex that validates IPv4 addresses, and explain each part of it.",
    "Explain the causes of the 2008 financial crisis step by step, and evaluate which policy responses worked.",
    "I have a React app that re-renders constantly when I type in an input. Explain the likely causes and how to fix them with memoization, and show code.",
    "Write a detailed cover letter for a senior data engineer role, highlighting experience with Spark, Airflow and streaming pipelines, tailored to a fintech company.",
    "Solve the system of equations 2x + 3y - z = 5, x - y + 2z = 3, 3x + y + z = 10, showing the elimination steps.",
    "What is the probability that in a room of 30 people at least two share a birthday? Derive it.",
    "Write a SQL query that finds, for each department, the employees whose salary is above the department average, and explain how the window function version differs from a correlated subquery.",
    "Implement Dijkstra's algorithm in Java with a priority queue and explain why it fails with negative edge weights.",
    "Why does the Monty Hall problem favour switching? Give a rigorous argument and a simulation in Python.",
    "Write a comprehensive guide to setting up a home network with VLANs for IoT devices, a guest network, and a Pi-hole.",
    "Compare the economic policies of Keynesianism and monetarism, with historical examples, and assess how each would respond to stagflation.",
    "Explain the transformer architecture in detail: attention, multi-head attention, positional encodings, layer norm, and why it replaced RNNs.",
    "Write a bash script that backs up a directory incrementally with rsync, rotates the last seven backups, and emails a report on failure.",
    "Draft a project proposal for a community solar programme: goals, stakeholders, budget outline, timeline, risks and how success will be measured.",
    "My Kubernetes pod keeps getting OOMKilled even though the limit is 2Gi and the app uses 1.2Gi according to our metrics. Walk me through how to debug this.",
    "Write a story in which every paragraph is told from a different character's point of view, about a wedding where the rings go missing.",
    "Translate this paragraph into French and then explain three idioms you had to adapt: 'It's raining cats and dogs, but we'll weather the storm and come out ahead. Don't count your chickens, though; we're not out of the woods yet.'",
    "Given the function f(x) = x^3 - 6x^2 + 9x + 1, find the critical points, classify them, find the inflection point, and sketch the graph in words.",
    "How does garbage collection work in .NET? Explain generations, the large object heap, server vs workstation GC, and how to diagnose GC pauses.",
    "Write unit tests in xUnit for a bank account class with deposit, withdraw and transfer, covering overdrafts and concurrency.",
    "Evaluate the arguments for and against a four-day work week, using evidence from trials in different countries.",
    "Explain why the halting problem is undecidable, with the diagonal argument, and give a practical example of its consequences for static analysis.",
    "Refactor this to remove the duplication and make it testable:\n\nif user.type == 'admin':\n    send_email(user.email, 'Welcome admin')\n    log('admin created')\n    db.save(user)\nelif user.type == 'editor':\n    send_email(user.email, 'Welcome editor')\n    log('editor created')\n    db.save(user)\nelse:\n    send_email(user.email, 'Welcome')\n    log('user created')\n    db.save(user)",
    "A company's revenue grew from 2.1M to 3.4M over three years. Calculate the CAGR, then project revenue for the next five years under three scenarios and discuss the assumptions.",
    "Analyze the themes of Frankenstein and how they relate to modern debates about artificial intelligence.",
    "Write a multi-threaded producer-consumer in C++ with a bounded buffer using condition variables, and explain how you avoid spurious wakeups.",
    "Give me a week-long meal plan for a vegetarian athlete needing 140g of protein a day, with recipes, shopping list and macros per day.",
    "Explain how vaccines train the immune system, covering innate and adaptive immunity, B and T cells, memory cells, and how mRNA vaccines differ from traditional ones.",
    "Derive the quadratic formula by completing the square.",
    "Prove that the sum 1 + 2 + ... + n equals n(n+1)/2 using induction.",
    "Write a function to check if a binary tree is balanced.",
    "Implement quicksort in Rust.",
    "Debug: my Python says 'RecursionError: maximum recursion depth exceeded' in a function that walks a directory tree. What's going on and how do I rewrite it iteratively?",
    "What would happen to Earth's climate if the Moon disappeared? Reason through tides, axial tilt, and ecosystems.",
    "Summarise the plot of War and Peace, covering each of the main characters' arcs and the major historical events.",
    "Write me a speech for my brother's wedding, around five minutes long, funny but heartfelt; he met his wife at a climbing gym and they love terrible puns.",
    "Explain the CAP theorem with examples of databases that choose each pair, and critique how useful the theorem is in practice.",
    "Estimate how many piano tuners there are in Chicago, stating each assumption and the reasoning, Fermi-style.",
    "Write a Terraform configuration for a VPC with public and private subnets across two availability zones, a NAT gateway, and an autoscaling group behind a load balancer.",
    "Calculate the monthly payment on a 300,000 mortgage at 4.5% over 25 years, show the amortisation formula, and explain how overpaying 200 a month changes the total interest.",
    "I'm a teacher. Create a full lesson plan for a 60-minute class on photosynthesis for 12-year-olds, with learning objectives, a starter activity, an experiment, differentiation, and an exit quiz with answers.",
    "Explain the difference between a process and a thread, how context switching works, and when you would choose async I/O over threads, with examples in Go and Python.",
    "Write an in-depth comparison of PostgreSQL and MongoDB for an e-commerce platform, covering transactions, schema evolution, indexing, and operational costs.",
    "Describe the life cycle of a star from nebula to its possible ends, explaining the physics that decides each path.",
    "Solve: a ladder 10 m long leans against a wall; its foot slides away at 1 m/s. How fast is the top sliding down when the foot is 6 m from the wall?",
    "What is the expected value of the maximum of two independent uniform(0,1) random variables? Derive it two ways.",
    "Write a short story about a time traveller who can only move forward one minute at a time, told in the second person, with a twist ending. About 1200 words.",
    "Our startup has 18 months of runway. Evaluate whether we should raise a bridge round, cut costs by 30%, or pivot to enterprise customers, considering risks and signals we should watch.",
    "Explain backpropagation mathematically for a two-layer neural network, deriving the gradients for the weights and biases.",
]


# --------------------------------------------------------------------------------------------------
# Splits.

def stable_hash(text):
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16)


def family_splits(names):
    """Assigns whole template families to splits, stratified per label: families sorted by a stable hash
    of their name go 3 of every 5 to train, 1 to held-out, 1 to calibration."""
    order = sorted(names, key=lambda n: stable_hash("family:" + n))
    return {n: ("train", "train", "train", "heldout", "calibration")[i % 5] for i, n in enumerate(order)}


def singleton_split(text):
    h = stable_hash("text:" + text) % 10
    return "train" if h < 6 else ("heldout" if h < 8 else "calibration")


def expand(templates, label, per_template, rng, sets):
    splits = family_splits(templates)
    for name in sorted(templates):
        split = splits[name]
        seen = set()
        tries = 0
        while len(seen) < per_template and tries < per_template * 20:
            tries += 1
            prompt = templates[name](rng)
            if prompt in seen:
                continue
            seen.add(prompt)
            sets[split].append({"prompt": prompt, "gpu": label})


def main():
    rng = random.Random(SEED)
    sets = {"train": [], "heldout": [], "calibration": []}
    expand(LOCAL_TEMPLATES, False, 8, rng, sets)
    expand(GPU_TEMPLATES, True, 6, rng, sets)
    for text in LOCAL_HANDWRITTEN:
        sets[singleton_split(text)].append({"prompt": text, "gpu": False})
    for text in GPU_HANDWRITTEN:
        sets[singleton_split(text)].append({"prompt": text, "gpu": True})

    # Deduplicate across splits (a prompt keeps its first split) and shuffle deterministically.
    seen = set()
    for split in ("train", "heldout", "calibration"):
        unique = []
        for item in sets[split]:
            if item["prompt"] not in seen:
                seen.add(item["prompt"])
                unique.append(item)
        random.Random(SEED + len(split)).shuffle(unique)
        sets[split] = unique
        with open(os.path.join(OUT, f"{split}.jsonl"), "w", encoding="utf-8", newline="\n") as f:
            for item in unique:
                f.write(json.dumps(item, ensure_ascii=False) + "\n")
        gpu = sum(1 for i in unique if i["gpu"])
        print(f"{split}: {len(unique)} prompts, {gpu} gpu ({gpu / len(unique):.0%})")


if __name__ == "__main__":
    main()
