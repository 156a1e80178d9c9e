"""A ninth set of wordings for the synthetic incident day (half=8), written by someone who had not read \
the grouping code nor the earlier sets, before its one measurement."""

from __future__ import annotations

LOGIN_NINTH: list[str] = [
    "cant log in",
    (
        "Your app keeps throwing me back to the sign-in page every time I enter my details. Tried three "
        "times, same thing. iPhone 13, latest version."
    ),
    "WHY DOES MY PASSWORD NOT WORK. I LITERALLY JUST RESET IT",
    "been staring at a spinning wheel on the welcome screen for 10 mins, is something down?",
    "Error 503 when I try to get into my account on Chrome. Was fine this morning.",
    (
        "Wanted to use my birthday voucher before it expires tonight but I can't even get past the login "
        "page. Great timing."
    ),
    "verification code never arrives. requested it 5 times now",
    (
        "Hello, I am not able to enter in my profile since morning, it say 'something went wrong please try "
        "later'. What is happening?"
    ),
    "locked out lol",
    (
        "Trying to check my points balance and the app just shows a blank white screen after I put my email "
        "in. Android 14, Pixel 7."
    ),
    "Is the website having issues? Every time I hit 'Sign in' the button greys out and then nothing.",
    (
        "Tried to reorder my usual from last month but it says my session has expired. Log back in, expires "
        "again immediately. Round and round we go."
    ),
    "Oh brilliant, 'Invalid credentials' on a password my password manager has stored for two years. Sure, must be me.",
    (
        "Good morning, I cannot access to my acount from the application neither from the computer. The page "
        "return to the beginning each time."
    ),
    "need to track a parcel but the site wont let me in, keeps asking me to authenticate then errors out",
    "ERR_AUTH_TIMEOUT on the app. again. anyone else?",
    (
        "Firefox on my laptop: email, password, redirected to the homepage as a guest. Safari on my phone: "
        "same. What's going on at your end?"
    ),
    "my mum and i both cant get into our accounts, different phones. is it u or us",
    "the 2FA text says its been sent but nothing ever comes through. cant do anything without it",
    (
        "Customer for 8 years and today I'm told my account 'does not exist'. Tried Face ID, tried typing it "
        "in, tried the desktop site. Nothing. Please sort this out."
    ),
]

PAYMENT_NINTH: list[str] = [
    "checkout broken??",
    "Card declined three times on your site, bank says nothing is wrong their end and no attempts even reached them.",
    "Pressed 'Place order' and the button just does nothing. Tried Apple Pay too, same.",
    "money gone from my bank but no confirmation email and nothing showing as bought. £84.99. what now?",
    "PAYMENT FAILED PAYMENT FAILED PAYMENT FAILED. thats all your app says",
    (
        "Trying to buy a present for my sister's birthday tomorrow and it keeps kicking me back to the basket"
        " after I type my card number. Ridiculous."
    ),
    "error PAY-502 at the last step",
    "Hi, I try to pay with PayPal and the window close itself and nothing is bought. Is problem with your shop today?",
    "Stuck on 'processing your payment' for 20 minutes. Do I refresh? Will I get charged twice?",
    "Klarna won't go through either. Is anyone actually able to buy anything from you today?",
    "Just got charged twice and still no order number. Amazing work.",
    (
        "Wanted to use the 20% code before midnight but the card details page just loops. Code will expire "
        "before you fix it, won't it"
    ),
    "the 3D secure bit never loads, just a grey box",
    "cant complete purchase on mobile or desktop, 'transaction could not be processed'",
    "Gift card AND debit card both rejected at the final stage. I have plenty of funds thanks.",
    "hello, my payment not accepted in the website, i tried two cards from different banks. please help me",
]

BACKGROUND_NINTH: list[str] = [
    (
        "My {item} arrived with a cracked screen. Box was fine so it must have been packed like that. Want a "
        "replacement please."
    ),
    "Refund for the {item} I sent back on {n} {month} still isn't back on my card. How long does it normally take?",
    (
        "Signed in to check my order and it still says 'preparing for dispatch' after {n} days. When will it "
        "actually leave the warehouse?"
    ),
    "Paid extra for express delivery and the {item} turned up {n} days late. Can I get the delivery charge back?",
    (
        "Loyalty card wouldn't scan at the till in your {city} store, the lady had to type the number in by "
        "hand. Points still not showing on my account."
    ),
    "Staff at the {city} branch were really rude when I asked about a return. Not what I expect from you.",
    "Email says my click and collect is ready but the {city} store say they don't have it. Wasted trip.",
    "The {item} I bought last {month} has already fallen apart. Quality's gone right downhill.",
    "How do I cancel my delivery pass subscription? Don't want it renewing in {month}.",
    "Saw the same {item} £{n} cheaper down the road, do you price match?",
    "Courier left my parcel in the recycling bin. Literally in the bin.",
    "Returned a {item} to the {city} store {n} weeks ago and the money still hasn't hit my account.",
    "Had to reset my password back in {month} and ever since I get {n} marketing emails a week. How do I unsubscribe?",
    "Ordered a {item} in blue, got a pink one. Can you swap it?",
    "Only two tills open in {city} on a Saturday and half the self-checkouts taped off. Queue was out the door.",
    "Is the {item} back in stock anytime soon? The app has said sold out since {month}.",
    "Logged in fine to write a review of my {item} but it's been 'pending moderation' for {n} days. Why?",
    "Got charged full price for the {item} even though the shelf label said it was on offer. Receipt attached.",
    "Tracking has said 'with courier' for {n} days. Where is my {item}?",
    "How do I change the delivery address saved on my account? Moved to {city} last {month}.",
]
