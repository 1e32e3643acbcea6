package scale

// Word lists for generated titles. Earlier words are picked far more often
// than later ones (see skewed), so that searches for common words match
// many titles and searches for rare ones few, as in a real catalog.

var scaleAdjectives = []string{
	"Silent", "Dark", "Last", "Lost", "Golden", "Broken", "Hidden", "Wild", "Crimson", "Secret",
	"Midnight", "Burning", "Frozen", "Endless", "Forgotten", "Distant", "Fallen", "Electric", "Quiet", "Bright",
	"Hollow", "Restless", "Savage", "Scarlet", "Shadowed", "Velvet", "Iron", "Silver", "Bitter", "Gentle",
	"Howling", "Painted", "Wandering", "Falling", "Rising", "Sleeping", "Stolen", "Sunken", "Twisted", "Vanishing",
	"Northern", "Southern", "Eastern", "Western", "Little", "Great", "Lonely", "Hungry", "Wicked", "Brave",
	"Curious", "Clever", "Reckless", "Fearless", "Dangerous", "Beautiful", "Strange", "Perfect", "Impossible", "Invisible",
	"Radiant", "Atomic", "Cosmic", "Tender", "Furious", "Lucky", "Cursed", "Haunted", "Sacred", "Royal",
	"Emerald", "Amber", "Cobalt", "Ivory", "Obsidian", "Copper", "Marble", "Paper", "Glass", "Stone",
	"Seventh", "Thirteenth", "Final", "First", "Second", "Only", "Other", "Unseen", "Untold", "Unbroken",
	"Crooked", "Drowned", "Feral", "Gilded", "Jagged", "Luminous", "Molten", "Nameless", "Pale", "Wistful",
}

var scaleNouns = []string{
	"Night", "City", "House", "Road", "River", "Heart", "Shadow", "Storm", "Kingdom", "Island",
	"Garden", "Winter", "Summer", "Dream", "Fire", "Star", "Sea", "Moon", "Sky", "Door",
	"Mirror", "Witness", "Stranger", "Promise", "Secret", "Journey", "Voyage", "Empire", "Crown", "Sword",
	"Letter", "Photograph", "Detective", "Doctor", "Widow", "Orphan", "Soldier", "Thief", "Prince", "Princess",
	"Hunter", "Sailor", "Pilot", "Dancer", "Painter", "Singer", "Cousin", "Family", "Brother", "Sister",
	"Daughter", "Son", "Father", "Mother", "Neighbor", "Tenant", "Lighthouse", "Harbor", "Station", "Train",
	"Carnival", "Circus", "Orchard", "Forest", "Desert", "Mountain", "Valley", "Canyon", "Glacier", "Volcano",
	"Machine", "Signal", "Code", "Cipher", "Engine", "Rocket", "Planet", "Comet", "Galaxy", "Frontier",
	"Ballad", "Requiem", "Symphony", "Waltz", "Tango", "Lullaby", "Anthem", "Chorus", "Echo", "Whisper",
	"Game", "Gamble", "Wager", "Heist", "Escape", "Chase", "Hunt", "Trial", "Verdict", "Confession",
	"Bridge", "Tower", "Castle", "Cathedral", "Palace", "Cabin", "Farm", "Ranch", "Saloon", "Hotel",
	"Rain", "Snow", "Thunder", "Lightning", "Wind", "Tide", "Dawn", "Dusk", "Twilight", "Eclipse",
	"Wolf", "Fox", "Raven", "Hawk", "Tiger", "Lion", "Bear", "Horse", "Serpent", "Dragon",
	"Ghost", "Spirit", "Witch", "Angel", "Devil", "Saint", "Monster", "Giant", "Robot", "Android",
	"Map", "Key", "Compass", "Clock", "Lantern", "Candle", "Bell", "Ring", "Mask", "Veil",
	"Affair", "Wedding", "Funeral", "Reunion", "Holiday", "Festival", "Harvest", "Exodus", "Reckoning", "Awakening",
	"Republic", "Colony", "Outpost", "Settlement", "Border", "Wilderness", "Badlands", "Marsh", "Tundra", "Reef",
	"Alibi", "Motive", "Ransom", "Bargain", "Contract", "Inheritance", "Legacy", "Fortune", "Debt", "Rumor",
	"Quartet", "Trio", "Duet", "Twins", "Strangers", "Outlaws", "Rebels", "Pioneers", "Pilgrims", "Survivors",
	"Paradox", "Anomaly", "Horizon", "Meridian", "Equinox", "Solstice", "Zenith", "Nadir", "Orbit", "Vortex",
}

var scalePlaces = []string{
	"Paris", "London", "Rome", "Berlin", "Vienna", "Lisbon", "Madrid", "Prague", "Istanbul", "Cairo",
	"Tokyo", "Kyoto", "Seoul", "Shanghai", "Bombay", "Havana", "Rio", "Lima", "Mexico City", "Buenos Aires",
	"New York", "Chicago", "San Francisco", "New Orleans", "Memphis", "Tucson", "Santa Fe", "Boston", "Seattle", "Detroit",
	"Marrakesh", "Tangier", "Casablanca", "Zanzibar", "Nairobi", "Dakar", "Cape Town", "Alexandria", "Beirut", "Baghdad",
	"Kestrel Bay", "Harrow Falls", "Millbrook", "Eastwick", "Ravenwood", "Pine Hollow", "Cold Harbor", "Silver Creek", "Dry Gulch", "Red Rock",
	"Blackwater", "Stonebridge", "Wolf Creek", "Lantern Hill", "Fairhaven", "Greyport", "Northmoor", "Saltmarsh", "Thornfield", "Windmere",
	"Mars", "Venus", "the Moon", "Titan", "Europa", "Orion", "Andromeda", "Sector Nine", "Station Twelve", "the Outer Rim",
	"Monte Carlo", "Venice", "Naples", "Athens", "Budapest", "Warsaw", "Stockholm", "Oslo", "Reykjavik", "Dublin",
	"Edinburgh", "Glasgow", "Cornwall", "Yorkshire", "Provence", "Tuscany", "Bavaria", "Andalusia", "Patagonia", "the Yukon",
	"the Klondike", "the Sahara", "the Amazon", "the Congo", "the Nile", "the Alps", "the Andes", "the Rockies", "the Highlands", "the Bayou",
}

var scaleFirst = []string{
	"Anna", "James", "Maria", "John", "Elena", "Robert", "Sofia", "Michael", "Clara", "David",
	"Grace", "William", "Alice", "Thomas", "Rose", "Charles", "Lucy", "George", "Emma", "Henry",
	"Olivia", "Samuel", "Ada", "Daniel", "Iris", "Peter", "Vera", "Paul", "Nora", "Frank",
	"Ruth", "Arthur", "Helen", "Walter", "Irene", "Edward", "Mae", "Harold", "June", "Leo",
	"Yuki", "Hiro", "Mei", "Wei", "Priya", "Arjun", "Fatima", "Omar", "Amara", "Kwame",
	"Ingrid", "Lars", "Astrid", "Sven", "Greta", "Hans", "Marta", "Jan", "Zofia", "Tomasz",
	"Lucia", "Marco", "Giulia", "Luca", "Ines", "Pedro", "Camila", "Diego", "Valentina", "Mateo",
	"Chloe", "Louis", "Amelie", "Jules", "Margot", "Hugo", "Colette", "Andre", "Simone", "Felix",
	"Nadia", "Ivan", "Olga", "Dmitri", "Tatiana", "Sergei", "Leila", "Karim", "Yasmin", "Tariq",
	"Hazel", "Ezra", "Violet", "Silas", "Mabel", "Otis", "Pearl", "Jasper", "Edith", "Milo",
	"Beatrice", "Rupert", "Winifred", "Cedric", "Florence", "Percy", "Agnes", "Reginald", "Dorothy", "Cyril",
	"Noor", "Ravi", "Aiko", "Kenji", "Soo-ah", "Min-jun", "Thandiwe", "Sipho", "Aroha", "Tane",
}

var scaleLast = []string{
	"Smith", "Johnson", "Brown", "Taylor", "Miller", "Wilson", "Moore", "Clark", "Hall", "Young",
	"Walker", "Wright", "King", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell",
	"Mitchell", "Roberts", "Carter", "Phillips", "Evans", "Turner", "Parker", "Collins", "Edwards", "Stewart",
	"Morris", "Murphy", "Cook", "Rogers", "Morgan", "Cooper", "Peterson", "Reed", "Bailey", "Bell",
	"Kowalski", "Nowak", "Novak", "Horvat", "Kovacs", "Nagy", "Popescu", "Ivanov", "Petrov", "Sokolov",
	"Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Garcia", "Martinez", "Lopez", "Gonzalez", "Hernandez",
	"Dubois", "Laurent", "Moreau", "Lefebvre", "Fontaine", "Muller", "Schmidt", "Schneider", "Fischer", "Weber",
	"Andersson", "Johansson", "Larsen", "Nielsen", "Hansen", "Virtanen", "Korhonen", "Jensen", "Berg", "Lund",
	"Tanaka", "Suzuki", "Sato", "Watanabe", "Kim", "Lee", "Park", "Chen", "Wang", "Liu",
	"Patel", "Sharma", "Singh", "Khan", "Haddad", "Mansour", "Okafor", "Mensah", "Diallo", "Ndlovu",
	"Ashworth", "Blackwood", "Calloway", "Delacroix", "Everhart", "Fairweather", "Galloway", "Hawthorne", "Islington", "Jessup",
	"Kingsley", "Lockhart", "Montague", "Northcott", "Oakley", "Pemberton", "Quincy", "Rutherford", "Sinclair", "Thorne",
}

// scaleAdjectives2 describe a synopsis' lead.
var scaleAdjectives2 = []string{
	"young", "retired", "stubborn", "brilliant", "disgraced", "reluctant", "struggling", "widowed", "ambitious", "lonely",
	"charming", "nervous", "fearless", "weary", "idealistic", "penniless", "headstrong", "gifted", "forgetful", "cynical",
}

var scaleJobs = []string{
	"detective", "schoolteacher", "nurse", "boxer", "journalist", "lawyer", "pilot", "chef", "musician", "farmer",
	"scientist", "sheriff", "thief", "actress", "painter", "soldier", "sailor", "inventor", "priest", "librarian",
	"mechanic", "photographer", "dancer", "bookkeeper", "archaeologist", "astronaut", "surgeon", "gambler", "cowboy", "spy",
}

var scaleVerbs = []string{
	"uncovers", "inherits", "stumbles upon", "is hired to find", "sets out to recover", "must protect", "falls for",
	"is framed for", "tries to forget", "races to deliver", "agrees to hide", "goes looking for",
}

var scaleObjects = []string{
	"a missing fortune", "a stranger with no memory", "an old family secret", "a map to a buried city", "a stolen painting",
	"a runaway heiress", "a witness nobody believes", "a signal from deep space", "a cursed violin", "a dying man's last letter",
	"a rival from the past", "a child who sees ghosts", "a ledger full of names", "a derelict ship", "a forbidden love",
}

var scaleTwists = []string{
	"Nothing is what it seems, and", "When an old friend turns up dead,", "As the storm closes every road,",
	"With a rival on the same trail,", "When the town turns against them,", "As the deadline draws near,",
	"With the police one step behind,", "When a second letter arrives,", "As the truth comes to light,",
}

var scaleStakes = []string{
	"every choice has a price", "trust becomes the most dangerous gamble", "a family must decide what it is willing to lose",
	"the past refuses to stay buried", "one wrong move could cost everything", "love and duty pull in opposite directions",
	"the whole city holds its breath", "a small act of courage changes everything",
}

var scaleEpisodeNames = []string{
	"The", "Return of the", "Beyond the", "Into the", "Under the", "After the", "Before the", "Against the",
}

var scaleLanguages = []string{"en", "fr", "es", "de", "it", "ja", "ko", "pt-BR", "hi", "sv", "zh", "ru", "pl", "tr", "ar"}

var scaleTags = []string{
	"based on a true story", "award winner", "cult classic", "slow burn", "feel-good", "coming of age", "heist",
	"road movie", "period piece", "ensemble cast", "twist ending", "based on a novel", "dark comedy", "critically acclaimed",
	"true crime", "space opera", "courtroom", "sports", "music", "friendship", "revenge", "survival", "time travel",
	"small town", "big city", "epic", "black and white", "dystopia", "whodunit", "romantic comedy",
}
